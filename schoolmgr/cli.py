"""Command-line tools for operators: `flask seed-demo`, `flask create-user`, `flask mail send`,
`flask materials clean-uploads`, `flask seats release-due`, `flask storage cleanup|migrate`."""

from datetime import timedelta

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup

from schoolmgr.announcements.cli import announcements_cli, reminders_cli
from schoolmgr.auth.services import AuthError, create_user
from schoolmgr.certificates.cli import certificates_cli, issue_past_editions
from schoolmgr.credentials.cli import credentials_cli
from schoolmgr.evaluations.cli import evaluations_cli
from schoolmgr.extensions import db
from schoolmgr.mail import deliver_pending
from schoolmgr.materials.uploads import remove_abandoned_uploads
from schoolmgr.models import Country, Role, User
from schoolmgr.registration.country_seats import release_due_country_seats
from schoolmgr.storage.cli import storage_cli

mail_cli = AppGroup("mail", help="Outgoing email.")
materials_cli = AppGroup("materials", help="Files of the modules' materials.")
seats_cli = AppGroup("seats", help="Country seats of editions.")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Only load demo data into a database with no users.")
def seed_demo_command(if_empty: bool) -> None:
    """Load the demo school (idempotent)."""
    # Imported here: the demo data (a large module) loads only for the demo commands.
    from schoolmgr.demo import seed_demo

    if if_empty and db.session.scalar(sa.select(sa.func.count(User.id))):
        click.echo("Database already has users; demo data not loaded.")
        return
    counts = seed_demo()
    click.echo("Demo data ready: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    click.echo(f"Certificates of past editions issued: {issue_past_editions()}")


@click.command("demo-logins")
def demo_logins_command() -> None:
    """Print the demo accounts and their password."""
    from schoolmgr.demo import DEMO_PASSWORD

    click.echo(f"Demo sign-ins (password for all: {DEMO_PASSWORD}):")
    for email, role in [
        ("admin@example.org", "admin"),
        ("staff@example.org", "programme staff"),
        ("trainer@example.org", "trainer"),
        ("participant@example.org", "participant"),
        ("coordinator@example.org", "coordinator (RS)"),
    ]:
        click.echo(f"  {role:16} {email}")


@click.command("create-user")
@click.option("--email", prompt=True)
@click.option("--name", "full_name", prompt="Full name")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.PARTICIPANT.value)
@click.option("--country", type=click.Choice([c.value for c in Country]), default=None)
@click.option("--institution", default="")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_user_command(email, full_name, role, country, institution, password) -> None:
    """Create a user with a role, e.g. `flask create-user --role staff`."""
    try:
        user = create_user(
            email=email,
            full_name=full_name,
            password=password,
            role=Role(role),
            country=country,
            institution=institution,
        )
    except AuthError as err:
        raise click.ClickException(err.message) from err
    click.echo(f"Created {user.role.value} {user.email} (id {user.id}).")


@mail_cli.command("send")
def mail_send_command() -> None:
    """Send queued email that is due, retrying earlier failures."""
    sent, failed = deliver_pending(limit=1000)
    click.echo(f"sent={sent} failed={failed}")


@materials_cli.command("clean-uploads")
@click.option("--hours", default=24, show_default=True, help="Only uploads older than this.")
def materials_clean_uploads_command(hours: int) -> None:
    """Delete partial uploads abandoned by a worker killed mid-upload."""
    click.echo(f"removed={remove_abandoned_uploads(timedelta(hours=hours))}")


@seats_cli.command("release-due")
def seats_release_due_command() -> None:
    """Release country seats whose release date has passed and promote who fits (idempotent)."""
    released = release_due_country_seats()
    for slug, promoted in released.items():
        click.echo(f"{slug}: promoted={promoted}")
    click.echo(f"released={len(released)} promoted={sum(released.values())}")


def init_app(app: Flask) -> None:
    for command in (seed_demo_command, demo_logins_command, create_user_command):
        app.cli.add_command(command)
    app.cli.add_command(mail_cli)
    app.cli.add_command(materials_cli)
    app.cli.add_command(seats_cli)
    app.cli.add_command(storage_cli)
    app.cli.add_command(certificates_cli)
    app.cli.add_command(credentials_cli)
    app.cli.add_command(evaluations_cli)
    app.cli.add_command(reminders_cli)
    app.cli.add_command(announcements_cli)
