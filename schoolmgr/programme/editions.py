"""Editions: creating, changing, publishing, duplicating and listing them."""

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from schoolmgr.audit import record
from schoolmgr.editions import remember_former_slug
from schoolmgr.errors import rolls_back
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.models import (
    Edition,
    EditionModule,
    EditionSeatQuota,
    EditionStatus,
    Registration,
    Session,
    utcnow,
)
from schoolmgr.programme.errors import ProgrammeError
from schoolmgr.registration.seats import accepted_count, fill_free_seats
from schoolmgr.text import fold
from schoolmgr.timeutils import SCHOOL_DAYS, to_utc

EDITION_FIELDS = (
    "title",
    "slug",
    "series",
    "kind",
    "format",
    "venue",
    "online_url",
    "timezone",
    "start_date",
    "end_date",
    "registration_opens_at",
    "registration_closes_at",
    "capacity",
    "registration_mode",
    "module_choice",
    "description",
    "certificate_threshold",
    "excused_counts_as_attended",
    "show_attendance_on_certificate",
    "certificate_language",
    "signatories",
)


def slugify(text: str) -> str:
    """A lower-case ASCII slug: "Škola 2026" becomes "skola-2026"."""
    slug = re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")
    return slug[:100] or "edition"


def slug_in_use(slug: str, exclude_id: int | None = None) -> bool:
    query = sa.select(Edition.id).where(Edition.slug == slug)
    if exclude_id is not None:
        query = query.where(Edition.id != exclude_id)
    return db.session.scalar(query) is not None


def suggest_slug(slug: str, exclude_id: int | None = None) -> str:
    """The slug itself when free, else the first free "<slug>-2", "<slug>-3", ..."""
    # "school-3" counts on from "school"; a year such as "school-2027" is part of the name.
    base = re.sub(r"-\d{1,2}$", "", slug) or slug
    if not slug_in_use(slug, exclude_id):
        return slug
    taken = set(
        db.session.scalars(
            sa.select(Edition.slug).where(
                sa.or_(Edition.slug == base, Edition.slug.like(f"{base}-%"))
            )
        )
    )
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _end_of_edition(edition_end: date, tz: str) -> datetime:
    return to_utc(edition_end + timedelta(days=1), time(0, 0), tz)


def _edition_problems(values: dict, edition: Edition | None) -> list[tuple[str | None, str, str]]:
    """Every rule an edition's values break, as (field, message, code)."""
    problems = []
    tz = values["timezone"]
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            (
                "timezone",
                _("Unknown time zone %(tz)s, e.g. Europe/Belgrade.", tz=tz),
                "bad_timezone",
            )
        )
        tz = "UTC"
    start, end = values["start_date"], values["end_date"]
    if end < start:
        problems.append(
            ("end_date", _("The edition cannot end before it starts."), "end_before_start")
        )
    opens, closes = values.get("registration_opens_at"), values.get("registration_closes_at")
    if opens and closes and closes <= opens:
        problems.append(
            (
                "registration_closes_date",
                _("Registration must close after it opens."),
                "registration_window_order",
            )
        )
    if closes and end >= start and closes > _end_of_edition(end, tz):
        problems.append(
            (
                "registration_closes_date",
                _("Registration cannot close after the edition ends (%(day)s).", day=end),
                "registration_closes_after_end",
            )
        )
    if edition is not None:
        accepted = accepted_count(edition.id)
        if values["capacity"] < accepted:
            problems.append(
                (
                    "capacity",
                    _(
                        "Capacity cannot be lower than the %(n)d registrations already accepted.",
                        n=accepted,
                    ),
                    "capacity_below_accepted",
                )
            )
        if end >= start:
            # Sessions keep their local clock times when the zone changes (see update_edition),
            # so their days are those of the current zone.
            outside = sessions_outside(edition, start, end, edition.timezone)
            if outside:
                problems.append(
                    (
                        "start_date",
                        _(
                            "%(n)d session(s) would fall outside the new dates "
                            "(first: %(when)s). Move them first.",
                            n=len(outside),
                            when=outside[0]
                            .starts_at.astimezone(ZoneInfo(edition.timezone))
                            .strftime("%Y-%m-%d %H:%M"),
                        ),
                        "sessions_outside_dates",
                    )
                )
    if slug_in_use(values["slug"], edition.id if edition else None):
        suggestion = suggest_slug(values["slug"], edition.id if edition else None)
        problems.append(
            (
                "slug",
                _(
                    "The address %(slug)s is already used by another edition. %(free)s is free.",
                    slug=values["slug"],
                    free=suggestion,
                ),
                "slug_taken",
            )
        )
    return problems


def _raise_problems(problems, suggestion: str | None = None) -> None:
    if problems:
        first_field, message, code = problems[0]
        raise ProgrammeError(
            message, code, 400, problems=problems, field=first_field, suggestion=suggestion
        )


def sessions_outside(edition: Edition, start: date, end: date, tz: str) -> list[Session]:
    zone = ZoneInfo(tz)
    sessions = db.session.scalars(
        sa.select(Session)
        .join(EditionModule)
        .where(EditionModule.edition_id == edition.id)
        .order_by(Session.starts_at)
    ).all()
    return [
        s
        for s in sessions
        if not (
            start <= s.starts_at.astimezone(zone).date() <= end
            and s.ends_at.astimezone(zone).date() <= end
        )
    ]


def _audit_values(edition: Edition) -> dict:
    out = {}
    for name in EDITION_FIELDS:
        value = getattr(edition, name)
        if isinstance(value, date | datetime):
            value = value.isoformat()
        elif hasattr(value, "value"):
            value = value.value
        out[name] = value
    return out


@rolls_back
def create_edition(values: dict) -> Edition:
    """Create a draft edition from form values, after checking every rule."""
    values = dict(values, slug=values.get("slug") or slugify(values["title"]))
    problems = _edition_problems(values, None)
    _raise_problems(problems, _suggestion(problems, values["slug"], None))
    edition = Edition(status=EditionStatus.DRAFT)
    for name in EDITION_FIELDS:
        if name in values:
            setattr(edition, name, values[name])
    db.session.add(edition)
    _commit_unique_slug(edition.slug, None, flush_only=True)
    record("edition.created", target=edition, edition_id=edition.id, summary=edition.title)
    _commit_unique_slug(edition.slug, None)
    return edition


def _commit_unique_slug(slug: str, exclude_id: int | None, *, flush_only: bool = False) -> None:
    """Commit (or flush); a slug taken meanwhile by a concurrent save is a refusal, not a 500."""
    try:
        db.session.flush() if flush_only else db.session.commit()
    except sa.exc.IntegrityError as exc:
        db.session.rollback()
        free = suggest_slug(slug, exclude_id)
        raise ProgrammeError(
            _("The address %(slug)s was just taken. %(free)s is free.", slug=slug, free=free),
            "slug_taken",
            409,
            field="slug",
            suggestion=free,
        ) from exc


def _suggestion(problems, slug: str, exclude_id: int | None) -> str | None:
    if any(code == "slug_taken" for _f, _m, code in problems):
        return suggest_slug(slug, exclude_id)
    return None


@rolls_back
def update_edition(edition: Edition, values: dict) -> Edition:
    """Change an edition; raising its capacity fills free seats from the waiting list."""
    values = dict(values, slug=values.get("slug") or edition.slug)
    # Hold the edition row so that no registration is accepted between the count and the save.
    db.session.execute(sa.select(Edition.id).where(Edition.id == edition.id).with_for_update())
    problems = _edition_problems(values, edition)
    _raise_problems(problems, _suggestion(problems, values["slug"], edition.id))
    before = _audit_values(edition)
    old_capacity, old_timezone, old_slug = edition.capacity, edition.timezone, edition.slug
    if "signatories" in values:
        values["signatories"] = _keep_signatures(edition.signatories or [], values["signatories"])
    for name in EDITION_FIELDS:
        if name in values:
            setattr(edition, name, values[name])
    if edition.timezone != old_timezone:
        _keep_local_session_times(edition, old_timezone)
    if edition.slug != old_slug:
        remember_former_slug(edition, old_slug)
    after = _audit_values(edition)
    changed = {k for k in after if after[k] != before[k]}
    if changed:
        record(
            "edition.updated",
            target=edition,
            edition_id=edition.id,
            summary=", ".join(sorted(changed)),
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
        )
    if edition.capacity > old_capacity:
        db.session.flush()
        fill_free_seats(edition)
    _commit_unique_slug(edition.slug, edition.id)
    return edition


def _keep_local_session_times(edition: Edition, old_timezone: str) -> None:
    """A new time zone for an edition corrects where it happens, not when: each session keeps
    its local clock time (09:00 stays 09:00, now in the new zone)."""
    old, new = ZoneInfo(old_timezone), ZoneInfo(edition.timezone)
    sessions = db.session.scalars(
        sa.select(Session).join(EditionModule).where(EditionModule.edition_id == edition.id)
    )
    for session in sessions:
        session.starts_at = session.starts_at.astimezone(old).replace(tzinfo=new).astimezone(UTC)
        session.ends_at = session.ends_at.astimezone(old).replace(tzinfo=new).astimezone(UTC)


def _keep_signatures(old: list[dict], new: list[dict]) -> list[dict]:
    """Signatories edited as text keep the signature image they had, matched by name."""
    images = {item.get("name"): item.get("signature", "") for item in old}
    return [
        {**item, "signature": item.get("signature") or images.get(item.get("name"), "")}
        for item in new
    ]


@rolls_back
def set_status(edition: Edition, action: str) -> Edition:
    """Publish, unpublish (back to draft) or archive an edition."""
    before = edition.status
    if action == "publish":
        if edition.status == EditionStatus.PUBLISHED:
            raise ProgrammeError(_("This edition is already published."), "bad_transition")
        edition.status = EditionStatus.PUBLISHED
        edition.published_at = edition.published_at or utcnow()
    elif action == "unpublish":
        if edition.status != EditionStatus.PUBLISHED:
            raise ProgrammeError(
                _("Only a published edition can be unpublished."), "bad_transition"
            )
        active = db.session.scalar(
            sa.select(sa.func.count(Registration.id)).where(
                Registration.edition_id == edition.id,
                Registration.is_active,
            )
        )
        if active:
            raise ProgrammeError(
                _(
                    "%(n)d people have registered: unpublishing would hide the edition from "
                    "them. Archive it instead, or cancel the registrations first.",
                    n=active,
                ),
                "has_registrations",
                409,
            )
        edition.status = EditionStatus.DRAFT
    elif action == "archive":
        if edition.status == EditionStatus.ARCHIVED:
            raise ProgrammeError(_("This edition is already archived."), "bad_transition")
        edition.status = EditionStatus.ARCHIVED
    else:
        raise ProgrammeError(_("Unknown action."), "bad_transition")
    record(
        f"edition.{action}",
        target=edition,
        edition_id=edition.id,
        summary=edition.title,
        before={"status": before.value},
        after={"status": edition.status.value},
    )
    db.session.commit()
    return edition


def _shift(dt: datetime | None, days: timedelta, tz: ZoneInfo) -> datetime | None:
    """Move a UTC instant by whole days keeping its local wall-clock time (DST-safe)."""
    if dt is None:
        return None
    here = dt.astimezone(tz)
    return to_utc(here.date() + days, here.time().replace(tzinfo=None), tz)


def _shifts_within_calendar(edition: Edition, days: timedelta) -> bool:
    """Whether every date and time of `edition` moved by `days` is still a date (year 1–9999)."""
    sessions = [s for em in edition.edition_modules for s in em.sessions]
    moments = [
        edition.registration_opens_at,
        edition.registration_closes_at,
        edition.quota_release_at,
        *(s.starts_at for s in sessions),
        *(s.ends_at for s in sessions),
    ]
    try:
        edition.end_date + days
        for moment in moments:
            _shift(moment, days, edition.tz)
    except OverflowError:
        return False
    return True


class NextSeason(NamedTuple):
    """What the duplicate form suggests for the next season of an edition."""

    title: str
    slug: str
    start_date: date | None


def next_season(edition: Edition) -> NextSeason:
    """The same weekday a year after the edition's first day, with the year in its title moved
    on; no day (and the title as it is) when that falls outside the school's days, for an
    edition stored before the forms bounded them."""
    first, last = SCHOOL_DAYS
    title, start = edition.title, None
    if first <= edition.start_date <= last - timedelta(weeks=52):
        start = edition.start_date + timedelta(weeks=52)
        title = title.replace(str(edition.start_date.year), str(start.year))
    return NextSeason(title, suggest_slug(slugify(title)), start)


@rolls_back
def duplicate_edition(edition: Edition, *, title: str, slug: str, start_date: date) -> Edition:
    """Start the next season from `edition`: modules, trainers and sessions, shifted in time.

    Registrations, attendance and certificates stay with the original. Retired catalogue
    modules are not carried over.
    """
    slug = slug or slugify(title)
    if slug_in_use(slug):
        free = suggest_slug(slug)
        raise ProgrammeError(
            _("The address %(slug)s is already used. %(free)s is free.", slug=slug, free=free),
            "slug_taken",
            field="slug",
            suggestion=free,
        )
    days = start_date - edition.start_date
    tz = edition.tz
    if not _shifts_within_calendar(edition, days):
        raise ProgrammeError(
            _(
                "The new edition’s dates and sessions would fall outside the calendar. "
                "Choose another first day."
            ),
            "dates_out_of_range",
            field="start_date",
        )
    copy = Edition(status=EditionStatus.DRAFT)
    for name in EDITION_FIELDS:
        setattr(copy, name, getattr(edition, name))
    copy.signatories = list(edition.signatories or [])
    copy.title, copy.slug = title, slug
    copy.start_date, copy.end_date = start_date, edition.end_date + days
    copy.registration_opens_at = _shift(edition.registration_opens_at, days, tz)
    copy.registration_closes_at = _shift(edition.registration_closes_at, days, tz)
    # Country seats and nominations carry over; a release date moves with the dates.
    copy.nomination_required = edition.nomination_required
    copy.quota_release_at = _shift(edition.quota_release_at, days, tz)
    copy.seat_quotas = [
        EditionSeatQuota(country=q.country, seats=q.seats) for q in edition.seat_quotas
    ]
    db.session.add(copy)
    with db.session.no_autoflush:
        for em in edition.edition_modules:
            if em.module.is_retired:
                continue
            new_em = EditionModule(
                edition=copy,
                module=em.module,
                position=em.position,
                mandatory=em.mandatory,
                trainers=list(em.trainers),
            )
            db.session.add(new_em)
            for s in em.sessions:
                db.session.add(
                    Session(
                        edition_module=new_em,
                        title=s.title,
                        starts_at=_shift(s.starts_at, days, tz),
                        ends_at=_shift(s.ends_at, days, tz),
                        room=s.room,
                        online_url=s.online_url,
                        position=s.position,
                    )
                )
    _commit_unique_slug(copy.slug, None, flush_only=True)
    record(
        "edition.duplicated",
        target=copy,
        edition_id=copy.id,
        summary=_("%(new)s from %(old)s", new=copy.title, old=edition.title),
        before={"from_edition_id": edition.id},
    )
    _commit_unique_slug(copy.slug, None)
    return copy


def editions_query(status: str | None = None, q: str | None = None) -> sa.Select:
    """Staff list of editions, newest first, with their modules loaded."""
    query = sa.select(Edition).order_by(Edition.start_date.desc(), Edition.id.desc())
    if status in {s.value for s in EditionStatus}:
        query = query.where(Edition.status == EditionStatus(status))
    if q:
        like = f"%{q.strip()}%"
        query = query.where(
            sa.or_(Edition.title.ilike(like), Edition.slug.ilike(like), Edition.series.ilike(like))
        )
    return query
