"""`flask storage cleanup` and `flask storage migrate --to s3`."""

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from schoolmgr.materials.uploads import remove_abandoned_uploads
from schoolmgr.storage import get_storage, make_storage
from schoolmgr.storage.maintenance import copy_all, remove_orphans

storage_cli = AppGroup("storage", help="Stored files (materials, certificates).")


@storage_cli.command("cleanup")
@click.option("--hours", default=24, show_default=True, help="Grace period: only older files.")
def cleanup_command(hours: int) -> None:
    """Delete stored files that no record points at (left by a process killed mid-write)."""
    grace = timedelta(hours=hours)
    removed = remove_orphans(get_storage(), grace) + remove_abandoned_uploads(grace)
    click.echo(f"removed={removed}")


@storage_cli.command("migrate")
@click.option("--to", "target", type=click.Choice(["s3", "local"]), required=True)
def migrate_command(target: str) -> None:
    """Copy every stored file to the other backend and verify its SHA-256.

    Run it with both backends' settings in the environment, then switch STORAGE_BACKEND.
    """
    source = make_storage(current_app.config, "local" if target == "s3" else "s3")
    report = copy_all(source, make_storage(current_app.config, target))
    for key in report.missing:
        click.echo(f"missing in source: {key}", err=True)
    for key in report.mismatched:
        click.echo(f"SHA-256 mismatch: {key}", err=True)
    click.echo(
        f"copied={report.copied} already_there={report.already_there} "
        f"missing={len(report.missing)} mismatched={len(report.mismatched)}"
    )
    if not report.ok:
        raise SystemExit(1)
