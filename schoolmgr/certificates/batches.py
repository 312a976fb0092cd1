"""Bulk issuing runs: recording a run, running it (in the request, on the RQ worker or the
CLI), its progress, and taking over a run whose worker is gone.

The order of imports is one way: batches -> jobs (processes, RQ) -> issuing.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from schoolmgr import create_app
from schoolmgr.certificates import jobs, rendering
from schoolmgr.certificates.eligibility import edition_standing
from schoolmgr.certificates.errors import CertificateError
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.mail import deliver_pending
from schoolmgr.models import (
    Certificate,
    CertificateBatch,
    CertificateBatchStatus,
    Edition,
    EditionModule,
    Registration,
    Session,
    User,
    utcnow,
)


def sessions_to_come(edition: Edition, now: datetime | None = None) -> int:
    """Sessions of the edition not over yet: a certificate issued now misses their hours."""
    return db.session.scalar(
        sa.select(sa.func.count(Session.id))
        .join(EditionModule, EditionModule.id == Session.edition_module_id)
        .where(EditionModule.edition_id == edition.id, Session.ends_at > (now or utcnow()))
    )


def missing_registration_ids(edition: Edition) -> list[int]:
    """Eligible participants of `edition` who have no current certificate yet (whole edition)."""
    return edition_standing(edition).missing_ids


def running_batch(edition: Edition) -> CertificateBatch | None:
    return db.session.scalar(
        sa.select(CertificateBatch)
        .where(
            CertificateBatch.edition_id == edition.id,
            CertificateBatch.status.in_(
                [CertificateBatchStatus.QUEUED, CertificateBatchStatus.RUNNING]
            ),
        )
        .order_by(CertificateBatch.id.desc())
        .limit(1)
    )


# A run whose progress (a heartbeat after every chunk of 20) has not moved for this long was
# interrupted (worker killed, server restart), wherever it ran.
BATCH_STALE_AFTER = timedelta(minutes=2)


def this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_batch(batch: CertificateBatch) -> None:
    """Mark the run as running in this process (the caller commits)."""
    batch.status = CertificateBatchStatus.RUNNING
    batch.started_at = utcnow()
    batch.worker = this_worker()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user
        return True
    return True


def batch_worker_gone(batch: CertificateBatch) -> bool:
    """True when a run shown as running has nobody running it any more: its RQ job failed or
    vanished, its process on this host has exited, or its heartbeat stopped."""
    if not batch.is_running:
        return False
    if batch.job_id:
        status = jobs.job_status(batch.job_id)
        if status in ("failed", "stopped", "canceled", "missing"):
            return True
        if status in ("queued", "deferred", "scheduled"):
            return False  # waiting for a worker is not being gone
    host, _, pid = batch.worker.rpartition(":")
    if host == socket.gethostname() and pid.isdigit() and not _process_alive(int(pid)):
        return True
    return batch.updated_at < utcnow() - BATCH_STALE_AFTER


@dataclass(frozen=True)
class BatchProgress:
    """What the run pages show: certificates really issued (counted, not the run's counter,
    which a killed run never updated), and whether its worker is gone."""

    batch: CertificateBatch
    issued: int
    worker_gone: bool

    @property
    def percent(self) -> int:
        total = self.batch.total
        return (
            100 if not total else min(100, round(100 * (self.issued + self.batch.failed) / total))
        )

    @property
    def running(self) -> bool:
        return self.batch.is_running and not self.worker_gone

    @property
    def label(self) -> str:
        """Where the run stands, in the reader's language (the page and its polling script)."""
        if self.running:
            return _("Issuing…")
        if self.worker_gone:
            return _("Stopped: the process running it is gone")
        if self.batch.status == CertificateBatchStatus.FAILED:
            return _("Stopped with an error")
        return _("Finished")


def batch_progress(batch: CertificateBatch) -> BatchProgress:
    """The run's certificates: those of its edition issued while it was (or is) the last run."""
    query = (
        sa.select(sa.func.count(Certificate.id))
        .join(Registration, Registration.id == Certificate.registration_id)
        .where(
            Registration.edition_id == batch.edition_id, Certificate.issued_at >= batch.created_at
        )
    )
    if batch.finished_at is not None:
        query = query.where(Certificate.issued_at <= batch.finished_at)
    return BatchProgress(batch, db.session.scalar(query), batch_worker_gone(batch))


def start_batch(edition: Edition, actor: User | None, take_over: bool = False) -> CertificateBatch:
    """Record a bulk issue of every missing certificate of `edition` (the caller runs it).

    A run whose worker is alive blocks a second one; a run whose worker is gone (or any, with
    `take_over`) is marked failed, and the new run resumes where it stopped.
    """
    running = running_batch(edition)
    if running is not None:
        if not take_over and not batch_worker_gone(running):
            raise CertificateError(
                _("Certificates of this edition are being issued already."), "batch_running", 409
            )
        running.status = CertificateBatchStatus.FAILED
        running.finished_at = utcnow()
        running.failures = [
            *running.failures,
            {
                "registration_id": None,
                "name": "",
                "reason": _("Interrupted; resumed by a new run."),
            },
        ]
    batch = CertificateBatch(
        edition=edition,
        started_by_id=actor.id if actor else None,
        total=len(missing_registration_ids(edition)),
        failures=[],
    )
    db.session.add(batch)
    db.session.commit()
    return batch


def run_batch(
    batch_id: int, processes: int | None = None, chunk_size: int = 20
) -> CertificateBatch:
    """Issue what is missing for the batch's edition, recording progress after every chunk.

    With `processes` > 1 the chunks are rendered by that many worker processes, each with its
    own font configuration and parsed stylesheet (see schoolmgr.certificates.jobs).
    """
    batch = db.session.get(CertificateBatch, batch_id)
    claim_batch(batch)
    ids = missing_registration_ids(batch.edition)
    batch.total = batch.done + batch.failed + len(ids)
    db.session.commit()
    chunks = [ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)]
    processes = processes or current_app.config.get("CERTIFICATE_PROCESSES", 1)
    try:
        for done, failures in jobs.map_chunks(chunks, batch.started_by_id, processes):
            batch = db.session.get(CertificateBatch, batch_id)
            batch.done += done
            batch.failed += len(failures)
            batch.failures = [*batch.failures, *failures][:500]
            db.session.commit()
    except Exception as exc:
        db.session.rollback()
        batch = db.session.get(CertificateBatch, batch_id)
        batch.status = CertificateBatchStatus.FAILED
        batch.failures = [
            *batch.failures,
            {"registration_id": None, "name": "", "reason": str(exc)},
        ]
        batch.finished_at = utcnow()
        db.session.commit()
        raise
    batch = db.session.get(CertificateBatch, batch_id)
    batch.status = CertificateBatchStatus.FINISHED
    batch.finished_at = utcnow()
    db.session.commit()
    return batch


def latest_batch(edition: Edition) -> CertificateBatch | None:
    return db.session.scalar(
        sa.select(CertificateBatch)
        .where(CertificateBatch.edition_id == edition.id)
        .order_by(CertificateBatch.id.desc())
        .limit(1)
    )


def get_batch(edition: Edition, batch_id: int) -> CertificateBatch:
    batch = db.session.get(CertificateBatch, batch_id)
    if batch is None or batch.edition_id != edition.id:
        raise CertificateError(_("No such issuing run."), "not_found", 404)
    return batch


def enqueue_batch(batch_id: int) -> str:
    """Run the batch on RQ when REDIS_URL is configured, else now, inline. Returns how."""
    queue = jobs.rq_queue()
    if queue is not None:
        job = queue.enqueue(run_batch_job, batch_id, job_timeout=6 * 3600)
        db.session.get(CertificateBatch, batch_id).job_id = job.id
        db.session.commit()
        return "queued"
    run_batch(batch_id)
    deliver_pending(limit=1000)
    return "inline"


def run_batch_job(batch_id: int) -> None:
    """RQ entry point: build the app, then run the batch and send the emails it queued."""
    app = create_app()
    with app.app_context():
        rendering.warm_up()
        run_batch(batch_id)
        deliver_pending(limit=1000)
