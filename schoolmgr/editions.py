"""The one lookup behind every staff page of an edition, `/staff/editions/<slug>/...`.

Staff pages name an edition by its slug. Links made before that (`/staff/editions/<id>/...`)
and links to an address the edition had before it was renamed lead to the same page under its
current slug, with a permanent redirect that keeps the method and the query (308)."""

import sqlalchemy as sa
from flask import abort, request, url_for
from sqlalchemy.orm import joinedload
from werkzeug.routing import RequestRedirect

from schoolmgr.extensions import db
from schoolmgr.models import Edition, EditionFormerSlug, EditionModule

# Larger numbers cannot be an edition id (and would overflow the database's integers).
MAX_ID_DIGITS = 9


def _edition_by_slug(with_programme: bool) -> sa.Select:
    # One statement for the edition and its modules (every staff page of an edition shows them).
    modules = joinedload(Edition.edition_modules)
    options = [modules.joinedload(EditionModule.module)]
    if with_programme:
        options += [
            modules.selectinload(EditionModule.trainers),
            modules.selectinload(EditionModule.sessions),
        ]
    return sa.select(Edition).where(Edition.slug == sa.bindparam("slug")).options(*options)


# Built once per process: every staff page of an edition runs one of them.
_EDITION_BY_SLUG = {programme: _edition_by_slug(programme) for programme in (False, True)}


def staff_edition_or_404(slug: str, *, with_programme: bool = False) -> Edition:
    """The edition named by `slug`, its modules loaded (and their trainers and sessions with
    `with_programme`); a 308 to the current address for an old one; else a 404."""
    edition = (
        db.session.execute(_EDITION_BY_SLUG[with_programme], {"slug": slug})
        .unique()
        .scalar_one_or_none()
    )
    if edition is None:
        _redirect_to_current_slug(slug)
        abort(404)
    return edition


def current_slug(old: str) -> str | None:
    """The slug of the edition an old staff address named: a former slug, or an edition id."""
    slug = db.session.scalar(
        sa.select(Edition.slug)
        .join(EditionFormerSlug, EditionFormerSlug.edition_id == Edition.id)
        .where(EditionFormerSlug.slug == old)
    )
    if slug is None and old.isascii() and old.isdigit() and len(old) <= MAX_ID_DIGITS:
        slug = db.session.scalar(sa.select(Edition.slug).where(Edition.id == int(old)))
    return slug


def remember_former_slug(edition: Edition, old: str) -> None:
    """Keep `old` leading to `edition` after a rename (in the caller's transaction)."""
    former = db.session.get(EditionFormerSlug, old)
    if former is None:
        db.session.add(EditionFormerSlug(slug=old, edition_id=edition.id))
    else:
        former.edition_id = edition.id


def _redirect_to_current_slug(old: str) -> None:
    slug = current_slug(old)
    if slug is None or slug == old or request.endpoint is None:
        return
    target = url_for(request.endpoint, **{**(request.view_args or {}), "slug": slug})
    if request.query_string:
        target += "?" + request.query_string.decode("latin-1")
    raise RequestRedirect(target)
