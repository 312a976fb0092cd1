"""`flask reminders send`: run from cron every few minutes (see the README)."""

import click
from flask.cli import AppGroup

from schoolmgr.models import utcnow

reminders_cli = AppGroup("reminders", help="Session reminders by email.")


@reminders_cli.command("send")
def send_command() -> None:
    """Queue the reminders that are due now (each once), then deliver pending email."""
    from schoolmgr.announcements.reminders import send_reminders
    from schoolmgr.mail import deliver_pending

    queued = send_reminders(utcnow())
    sent, failed = deliver_pending(limit=1000)
    click.echo(f"reminders={queued} sent={sent} failed={failed}")
