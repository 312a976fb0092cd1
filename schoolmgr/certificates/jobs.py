"""Where a bulk run's chunks are issued: in this process or across processes, and what RQ says
of a queued run.

`make worker` starts an RQ worker on the "schoolmgr" queue (schoolmgr.certificates.batches
puts runs there). Rendering is CPU-bound, so a run can also spread its chunks over several
processes; each process builds the app once, loads fonts and parses the stylesheet once
(schoolmgr.pdf caches them) and renders a warm-up certificate. Workers only read the database
and write PDF files; the calling process records the certificates (row, audit event, email), so
the database has a single writer (SQLite included).
"""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed

from flask import current_app

from schoolmgr import create_app
from schoolmgr.certificates import rendering
from schoolmgr.certificates.issuing import issue_chunk, prepare_chunk, record_chunk
from schoolmgr.extensions import db
from schoolmgr.storage import get_storage

QUEUE_NAME = "schoolmgr"

_worker_app = None


def rq_queue():
    """The RQ queue of runs, or None when REDIS_URL is not configured."""
    redis_url = current_app.config.get("REDIS_URL")
    if not redis_url:
        return None
    # Imported only when Redis is configured: most installations never load RQ.
    from redis import Redis
    from rq import Queue

    return Queue(QUEUE_NAME, connection=Redis.from_url(redis_url))


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


def _app_overrides() -> dict | None:
    """What a worker process needs to build the same app (tests and benches use overrides)."""
    if not current_app.testing:
        return None  # production and development read the same environment
    keys = ("SQLALCHEMY_DATABASE_URI", "STORAGE_DIR", "BASE_URL", "SCHOOL_NAME", "MAIL_BACKEND")
    storage_keys = ("STORAGE_BACKEND", "S3_BUCKET", "S3_PREFIX", "S3_ENDPOINT_URL", "S3_REGION")
    return {key: current_app.config[key] for key in keys + storage_keys}


def _init_worker(overrides: dict | None) -> None:
    global _worker_app
    # A forked worker inherits the parent's pooled connections: forget them without closing
    # (closing would end the parent's sessions), then build its own app and engine.
    for engines in list(db._app_engines.values()):
        for engine in engines.values():
            engine.dispose(close=False)
    _worker_app = create_app(overrides)
    _worker_app.app_context().push()
    rendering.warm_up()
    get_storage()  # boto3's client and models too, before the freeze below
    # Everything loaded so far lives as long as the worker: keep the cyclic collector off it.
    gc.freeze()


def _prepare_chunk(
    registration_ids: list[int], actor_id: int | None
) -> tuple[list[dict], int, list[dict]]:
    try:
        return prepare_chunk(registration_ids, actor_id)
    finally:
        db.session.remove()


def map_chunks(
    chunks: list[list[int]], actor_id: int | None, processes: int = 1
) -> Iterator[tuple[int, list[dict]]]:
    """Issue each chunk, yielding (issued, failures) as chunks complete."""
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
