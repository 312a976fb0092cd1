"""One way to paginate: a select statement in, a Flask-SQLAlchemy Pagination out."""

from flask import current_app, request
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select

from schoolmgr.extensions import db


def paginate(statement: Select, per_page: int | None = None) -> Pagination:
    """Page through `statement` using ?page=N; out-of-range pages give 404."""
    return db.paginate(
        statement,
        page=request.args.get("page", 1, type=int),
        per_page=per_page or current_app.config["PER_PAGE"],
        max_per_page=200,
        error_out=True,
    )
