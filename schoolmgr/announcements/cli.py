"""`flask reminders send` (from cron every few minutes, see the README) and
`flask announcements resume ID` (finish a background send whose worker stopped)."""

import click
from flask.cli import AppGroup

from schoolmgr.announcements.jobs import run
from schoolmgr.announcements.reminders import send_reminders
from schoolmgr.extensions import db
from schoolmgr.mail import deliver_pending
from schoolmgr.models import Announcement, utcnow

reminders_cli = AppGroup("reminders", help="Session reminders by email.")
announcements_cli = AppGroup("announcements", help="Announcements to an edition's people.")


@reminders_cli.command("send")
def send_command() -> None:
    """Queue the reminders that are due now (each once), then deliver pending email."""
    queued = send_reminders(utcnow())
    sent, failed = deliver_pending(limit=1000)
    click.echo(f"reminders={queued} sent={sent} failed={failed}")


@announcements_cli.command("resume")
@click.argument("announcement_id", type=int)
def resume_command(announcement_id: int) -> None:
    """Queue the emails of an announcement's recipients not yet handled, then deliver."""
    announcement = db.session.get(Announcement, announcement_id)
    if announcement is None:
        raise click.ClickException(f"No announcement {announcement_id}.")
    run(announcement_id)
    click.echo(f"announcement={announcement_id} status={announcement.status.value}")
