"""`/healthz` for load balancers: can this instance reach its database (and Redis)?"""

import logging

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from schoolmgr.extensions import db, limiter
from schoolmgr.models import User

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


def check_database(timeout_ms: int) -> bool:
    """Read a row of a real table, giving up after `timeout_ms`: `SELECT 1` answers even while
    the database file is locked or the tables are missing."""
    try:
        with db.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                # A pooled connection: put its lock wait back as it was afterwards.
                before = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
                conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(timeout_ms)}")
                try:
                    conn.execute(sa.select(User.id).limit(1)).all()
                finally:
                    conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(before)}")
            else:
                with conn.begin():
                    conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
                    conn.exec_driver_sql(f"SET LOCAL lock_timeout = {int(timeout_ms)}")
                    conn.execute(sa.select(User.id).limit(1)).all()
    except Exception:  # any failure means "not ready"; the log says which
        log.exception("Health check: database unreachable")
        return False
    return True


def check_redis(url: str) -> bool:
    import redis

    seconds = current_app.config["HEALTHZ_TIMEOUT_MS"] / 1000
    client = redis.Redis.from_url(url, socket_timeout=seconds, socket_connect_timeout=seconds)
    try:
        return bool(client.ping())
    except Exception:
        log.exception("Health check: Redis unreachable")
        return False
    finally:
        client.close()


@bp.route("/healthz")
@limiter.exempt
def healthz():
    """Report reachability of the services this instance needs, as JSON; 503 when one is down."""
    timeout_ms = current_app.config["HEALTHZ_TIMEOUT_MS"]
    checks = {"database": "ok" if check_database(timeout_ms) else "unreachable"}
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        checks["redis"] = "ok" if check_redis(redis_url) else "unreachable"
    healthy = all(value == "ok" for value in checks.values())
    response = jsonify(status="ok" if healthy else "unavailable", checks=checks)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response
