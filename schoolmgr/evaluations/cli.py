"""`flask evaluations send`: invitations and reminders, from cron (idempotent)."""

import click
from flask.cli import AppGroup

from schoolmgr.evaluations.sending import send_due
from schoolmgr.mail import deliver_pending

evaluations_cli = AppGroup("evaluations", help="Evaluation and follow-up surveys.")


@evaluations_cli.command("send")
def send_command() -> None:
    """Invite participants to parts that have opened; remind once those who have not answered.

    Safe to run as often as you like: each invitation and each reminder is sent once. Cron, e.g.
    every hour: `0 * * * * cd /srv/schoolmgr && .venv/bin/flask evaluations send`
    """
    result = send_due()
    sent, failed = deliver_pending(limit=1000)
    click.echo(
        f"invited={result.invited} reminded={result.reminded} emails={result.emails} "
        f"delivered={sent} failed={failed}"
    )
