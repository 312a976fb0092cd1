"""`flask certificates issue|list --edition SLUG` for operators."""

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from schoolmgr.certificates.batches import claim_batch, missing_registration_ids, start_batch
from schoolmgr.certificates.errors import CertificateError
from schoolmgr.certificates.jobs import map_chunks
from schoolmgr.certificates.lookup import edition_by_slug, edition_certificates
from schoolmgr.extensions import db
from schoolmgr.mail import deliver_pending
from schoolmgr.models import CertificateBatchStatus, Edition, utcnow
from schoolmgr.timeutils import today

certificates_cli = AppGroup("certificates", help="Certificates of attendance.")


def _edition(slug: str):
    try:
        return edition_by_slug(slug)
    except CertificateError as err:
        raise click.ClickException(f"No edition with slug {slug!r}.") from err


def issue_edition(
    edition, processes: int | None = None, progress: bool = True, take_over: bool = False
):
    """Issue every missing certificate of `edition` through the staff code path."""
    try:
        batch = start_batch(edition, None, take_over=take_over)
    except CertificateError as err:
        raise click.ClickException(
            f"{err.message} (use --take-over if that run was killed)"
        ) from err
    claim_batch(batch)
    db.session.commit()
    ids = missing_registration_ids(edition)
    chunks = [ids[i : i + 20] for i in range(0, len(ids), 20)]
    failures = []
    with click.progressbar(
        length=len(ids), label=f"Issuing {edition.slug}", hidden=not progress
    ) as bar:
        for done, failed in map_chunks(chunks, None, processes or 1):
            batch.done += done
            batch.failed += len(failed)
            batch.failures = [*batch.failures, *failed]
            failures.extend(failed)
            db.session.commit()
            bar.update(done + len(failed))
    batch.status = CertificateBatchStatus.FINISHED
    batch.finished_at = utcnow()
    db.session.commit()
    deliver_pending(limit=1000)
    return batch, failures


@certificates_cli.command("issue")
@click.option("--edition", "slug", required=True, help="Slug of the edition.")
@click.option("--processes", default=1, show_default=True, help="Rendering processes.")
@click.option("--take-over", is_flag=True, help="Mark a run still shown as running as interrupted.")
def issue_command(slug: str, processes: int, take_over: bool) -> None:
    """Issue every missing certificate of an edition (idempotent: re-run to resume)."""
    edition = _edition(slug)
    batch, failures = issue_edition(edition, processes, take_over=take_over)
    for failure in failures:
        click.echo(f"failed: {failure['name']}: {failure['reason']}", err=True)
    click.echo(f"issued={batch.done} failed={batch.failed} edition={edition.slug}")


@certificates_cli.command("list")
@click.option("--edition", "slug", required=True, help="Slug of the edition.")
def list_command(slug: str) -> None:
    """Serial, verification code, status and holder of every certificate of an edition."""
    edition = _edition(slug)
    for certificate in db.session.scalars(edition_certificates(edition)):
        click.echo(
            f"{certificate.serial}\t{certificate.verification_code}\t"
            f"{certificate.status}\t{certificate.snapshot.get('name', '')}"
        )


def issue_past_editions() -> int:
    """Issue the missing certificates of every edition that has ended (used by seed-demo)."""
    editions = db.session.scalars(
        sa.select(Edition).where(Edition.end_date < today()).order_by(Edition.start_date)
    ).all()
    issued = 0
    for edition in editions:
        batch, _failures = issue_edition(_edition(edition.slug), progress=False, take_over=True)
        issued += batch.done
    return issued
