"""`/healthz` for load balancers: can this instance reach its database (and Redis)?"""

import logging

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from schoolmgr.extensions import db, limiter

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


def check_database() -> bool:
    try:
        db.session.execute(sa.text("SELECT 1"))
    except Exception:  # any failure means "not ready"; the log says which
        log.exception("Health check: database unreachable")
        db.session.rollback()
        return False
    return True


def check_redis(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
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
    checks = {"database": "ok" if check_database() else "unreachable"}
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        checks["redis"] = "ok" if check_redis(redis_url) else "unreachable"
    healthy = all(value == "ok" for value in checks.values())
    response = jsonify(status="ok" if healthy else "unavailable", checks=checks)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response
