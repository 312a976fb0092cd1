"""Running bulk issues: in the request (no Redis), on an RQ worker, and across processes.

`make worker` starts an RQ worker on the "schoolmgr" queue. Rendering is CPU-bound, so a run can
also spread its chunks over several processes; each process builds the app once, loads fonts
and parses the stylesheet once (schoolmgr.pdf caches them) and renders a warm-up certificate.
Workers only read the database and write PDF files; the calling process records the
certificates (row, audit event, email), so the database has a single writer (SQLite included).
"""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed

from flask import current_app

QUEUE_NAME = "schoolmgr"

_worker_app = None


def enqueue_batch(batch_id: int) -> str:
    """Run the batch on RQ when REDIS_URL is configured, else now, inline. Returns how."""
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        from redis import Redis
        from rq import Queue

        from schoolmgr.extensions import db
        from schoolmgr.models import CertificateBatch

        queue = Queue(QUEUE_NAME, connection=Redis.from_url(redis_url))
        job = queue.enqueue(run_batch_job, batch_id, job_timeout=6 * 3600)
        db.session.get(CertificateBatch, batch_id).job_id = job.id
        db.session.commit()
        return "queued"
    from schoolmgr.certificates.services import run_batch
    from schoolmgr.mail import deliver_pending

    run_batch(batch_id)
    deliver_pending(limit=1000)
    return "inline"


def job_status(job_id: str) -> str | None:
    """The RQ status of a run's job ("started", "failed", ... or "missing"); None when Redis
    is not configured or cannot be asked (then the run's heartbeat decides)."""
    redis_url = current_app.config.get("REDIS_URL")
    if not redis_url:
        return None
    from redis import Redis, RedisError
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    connection = Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        status = Job.fetch(job_id, connection=connection).get_status(refresh=False)
    except NoSuchJobError:
        return "missing"
    except RedisError:
        return None
    finally:
        connection.close()
    return str(getattr(status, "value", status)) if status is not None else "missing"


def run_batch_job(batch_id: int) -> None:
    """RQ entry point: build the app, then run the batch and send the emails it queued."""
    from schoolmgr import create_app
    from schoolmgr.certificates import rendering
    from schoolmgr.certificates.services import run_batch
    from schoolmgr.mail import deliver_pending

    app = create_app()
    with app.app_context():
        rendering.warm_up()
        run_batch(batch_id)
        deliver_pending(limit=1000)


def _app_overrides() -> dict | None:
    """What a worker process needs to build the same app (tests and benches use overrides)."""
    if not current_app.testing:
        return None  # production and development read the same environment
    keys = ("SQLALCHEMY_DATABASE_URI", "STORAGE_DIR", "BASE_URL", "SCHOOL_NAME", "MAIL_BACKEND")
    storage_keys = ("STORAGE_BACKEND", "S3_BUCKET", "S3_PREFIX", "S3_ENDPOINT_URL", "S3_REGION")
    return {key: current_app.config[key] for key in keys + storage_keys}


def _init_worker(overrides: dict | None) -> None:
    global _worker_app
    from schoolmgr import create_app
    from schoolmgr.certificates import rendering
    from schoolmgr.extensions import db

    # A forked worker inherits the parent's pooled connections: forget them without closing
    # (closing would end the parent's sessions), then build its own app and engine.
    for engines in list(db._app_engines.values()):
        for engine in engines.values():
            engine.dispose(close=False)
    _worker_app = create_app(overrides)
    _worker_app.app_context().push()
    rendering.warm_up()
    from schoolmgr.storage import get_storage

    get_storage()  # boto3's client and models too, before the freeze below
    # Everything loaded so far lives as long as the worker: keep the cyclic collector off it.
    gc.freeze()


def _prepare_chunk(
    registration_ids: list[int], actor_id: int | None
) -> tuple[list[dict], int, list[dict]]:
    from schoolmgr.certificates.services import prepare_chunk
    from schoolmgr.extensions import db

    try:
        return prepare_chunk(registration_ids, actor_id)
    finally:
        db.session.remove()


def map_chunks(
    chunks: list[list[int]], actor_id: int | None, processes: int = 1
) -> Iterator[tuple[int, list[dict]]]:
    """Issue each chunk, yielding (issued, failures) as chunks complete."""
    from schoolmgr.certificates.services import issue_chunk, record_chunk

    if processes <= 1 or len(chunks) <= 1:
        for chunk in chunks:
            yield issue_chunk(chunk, actor_id)
        return
    # fork starts a worker in milliseconds with the modules already imported; spawn elsewhere.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(
        max_workers=processes,
        mp_context=context,
        initializer=_init_worker,
        initargs=(_app_overrides(),),
    ) as pool:
        futures = [pool.submit(_prepare_chunk, chunk, actor_id) for chunk in chunks]
        for future in as_completed(futures):
            prepared, existing, failures = future.result()
            # This process is the only writer: workers render, the database sees one writer.
            done, record_failures = record_chunk(prepared, actor_id)
            yield done + existing, failures + record_failures
