"""Programme rules: editions, catalogue modules, trainers, sessions and the schedule."""

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import selectinload

from schoolmgr.announcements.reminders import SessionChange, notify_changes
from schoolmgr.audit import record
from schoolmgr.auth.services import check_new_password
from schoolmgr.errors import DomainError
from schoolmgr.extensions import db
from schoolmgr.i18n import fmt_list
from schoolmgr.mail import queue_email
from schoolmgr.models import (
    Attendance,
    Edition,
    EditionModule,
    EditionSeatQuota,
    EditionStatus,
    Material,
    Module,
    Registration,
    RegistrationStatus,
    Role,
    Session,
    User,
    normalise_email,
    registration_modules,
    utcnow,
)
from schoolmgr.text import normalise_line, sorted_people
from schoolmgr.timeutils import to_utc


class ProgrammeError(DomainError):
    """A programme rule said no.

    Codes: end_before_start, registration_window_order, registration_closes_after_end,
    capacity_below_accepted, slug_taken, bad_timezone, sessions_outside_dates,
    session_outside_dates, session_ends_before_start, conflicts, session_has_attendance,
    module_has_attendance, module_chosen, module_has_materials, module_in_use, module_retired,
    module_already_added, not_a_trainer, has_registrations, bad_transition, email_taken,
    invitation_invalid, invitation_expired, weak_password.

    `problems` lists (field, message) pairs so a form can show each message next to its field.
    """

    def __init__(
        self,
        message: str,
        code: str,
        status_code: int | None = None,
        *,
        field: str | None = None,
        problems: list[tuple[str | None, str, str]] | None = None,
        suggestion: str | None = None,
        conflicts: list["Conflict"] | None = None,
    ):
        super().__init__(message, code, status_code)
        self.problems = problems or [(field, message, code)]
        self.suggestion = suggestion
        self.conflicts = conflicts or []

    @property
    def codes(self) -> list[str]:
        return [code for _field, _message, code in self.problems]


# --- editions -----------------------------------------------------------------------------

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
    from schoolmgr.text import fold

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


def accepted_count(edition: Edition) -> int:
    from schoolmgr.public.services import accepted_counts

    return accepted_counts([edition.id]).get(edition.id, 0)


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
        accepted = accepted_count(edition)
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


def update_edition(edition: Edition, values: dict) -> Edition:
    """Change an edition; raising its capacity fills free seats from the waiting list."""
    values = dict(values, slug=values.get("slug") or edition.slug)
    # Hold the edition row so that no registration is accepted between the count and the save.
    db.session.execute(sa.select(Edition.id).where(Edition.id == edition.id).with_for_update())
    problems = _edition_problems(values, edition)
    _raise_problems(problems, _suggestion(problems, values["slug"], edition.id))
    before = _audit_values(edition)
    old_capacity, old_timezone = edition.capacity, edition.timezone
    if "signatories" in values:
        values["signatories"] = _keep_signatures(edition.signatories or [], values["signatories"])
    for name in EDITION_FIELDS:
        if name in values:
            setattr(edition, name, values[name])
    if edition.timezone != old_timezone:
        _keep_local_session_times(edition, old_timezone)
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
        _fill_free_seats(edition)
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


def _fill_free_seats(edition: Edition) -> None:
    """Hand the new seats to the waiting list (the registration area owns the rule)."""
    try:
        from schoolmgr.registration.services import fill_free_seats
    except ImportError:  # the registration area is not there yet
        return
    db.session.flush()
    fill_free_seats(edition)


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
                Registration.status.in_(
                    [
                        RegistrationStatus.ACCEPTED,
                        RegistrationStatus.PENDING,
                        RegistrationStatus.WAITLISTED,
                    ]
                ),
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


def edition_for_staff(edition_id: int) -> Edition | None:
    """An edition with modules, trainers and sessions loaded in a fixed number of queries."""
    return db.session.scalar(
        sa.select(Edition)
        .where(Edition.id == edition_id)
        .options(
            selectinload(Edition.edition_modules).selectinload(EditionModule.module),
            selectinload(Edition.edition_modules).selectinload(EditionModule.trainers),
            selectinload(Edition.edition_modules).selectinload(EditionModule.sessions),
        )
    )


# --- module catalogue ---------------------------------------------------------------------


def _module_slug_taken(slug: str, exclude_id: int | None) -> bool:
    query = sa.select(Module.id).where(Module.slug == slug)
    if exclude_id is not None:
        query = query.where(Module.id != exclude_id)
    return db.session.scalar(query) is not None


def save_module(module: Module | None, *, name: str, slug: str, summary: str, description: str):
    """Create (module=None) or edit a catalogue module."""
    slug = slug or slugify(name)
    if _module_slug_taken(slug, module.id if module else None):
        n = 2
        while _module_slug_taken(f"{slug}-{n}", module.id if module else None):
            n += 1
        raise ProgrammeError(
            _(
                "The address %(slug)s is already used by another module. %(free)s is free.",
                slug=slug,
                free=f"{slug}-{n}",
            ),
            "slug_taken",
            field="slug",
            suggestion=f"{slug}-{n}",
        )
    created = module is None
    if created:
        module = Module()
        db.session.add(module)
    module.name, module.slug = name.strip(), slug
    module.summary, module.description = summary.strip(), description.strip()
    db.session.flush()
    record("module.created" if created else "module.updated", target=module, summary=module.name)
    db.session.commit()
    return module


def set_module_retired(module: Module, retired: bool) -> Module:
    """Retire a module (it stays on past editions) or bring it back to the catalogue."""
    module.retired_at = utcnow() if retired else None
    record("module.retired" if retired else "module.restored", target=module, summary=module.name)
    db.session.commit()
    return module


def delete_module(module: Module) -> None:
    """Delete a catalogue module that no edition ever used; otherwise say to retire it."""
    used = db.session.scalar(
        sa.select(sa.func.count(EditionModule.id)).where(EditionModule.module_id == module.id)
    )
    if used:
        raise ProgrammeError(
            _(
                "%(name)s is part of %(n)d edition(s) and cannot be deleted. Retire it instead: "
                "it stays on those editions and leaves the catalogue.",
                name=module.name,
                n=used,
            ),
            "module_in_use",
            409,
        )
    record("module.deleted", target=module, summary=module.name)
    db.session.delete(module)
    db.session.commit()


def modules_query(include_retired: bool = True) -> sa.Select:
    query = sa.select(Module).order_by(Module.retired_at.is_not(None), Module.name)
    if not include_retired:
        query = query.where(Module.retired_at.is_(None))
    return query


# --- edition programme --------------------------------------------------------------------


def add_module(edition: Edition, module: Module, *, mandatory: bool = False) -> EditionModule:
    """Offer a catalogue module in an edition, after its current modules."""
    if module.is_retired:
        raise ProgrammeError(
            _("%(name)s is retired and cannot be added.", name=module.name), "module_retired"
        )
    if any(em.module_id == module.id for em in edition.edition_modules):
        raise ProgrammeError(
            _("%(name)s is already part of this edition.", name=module.name),
            "module_already_added",
            409,
        )
    position = max((em.position for em in edition.edition_modules), default=-1) + 1
    em = EditionModule(module=module, position=position, mandatory=mandatory)
    edition.edition_modules.append(em)
    db.session.flush()
    record("edition.module_added", target=em, edition_id=edition.id, summary=module.name)
    db.session.commit()
    return em


def module_dependants(em: EditionModule) -> dict[str, int]:
    """Records that would be lost with this edition module."""
    session_ids = sa.select(Session.id).where(Session.edition_module_id == em.id)
    return {
        "attendance": db.session.scalar(
            sa.select(sa.func.count(Attendance.id)).where(Attendance.session_id.in_(session_ids))
        ),
        "chosen": db.session.scalar(
            sa.select(sa.func.count())
            .select_from(registration_modules)
            .where(registration_modules.c.edition_module_id == em.id)
        ),
        "materials": db.session.scalar(
            sa.select(sa.func.count(Material.id)).where(Material.edition_module_id == em.id)
        ),
    }


def remove_module(em: EditionModule) -> None:
    """Take a module out of an edition, with its sessions, unless records depend on it."""
    found = module_dependants(em)
    name = em.module.name
    if found["attendance"]:
        raise ProgrammeError(
            _(
                "%(name)s has %(n)d attendance marks and cannot be removed.",
                name=name,
                n=found["attendance"],
            ),
            "module_has_attendance",
            409,
        )
    if found["chosen"]:
        raise ProgrammeError(
            _(
                "%(n)d registrations chose %(name)s; it cannot be removed while they do.",
                name=name,
                n=found["chosen"],
            ),
            "module_chosen",
            409,
        )
    if found["materials"]:
        raise ProgrammeError(
            _(
                "%(name)s has %(n)d materials; remove them first.",
                name=name,
                n=found["materials"],
            ),
            "module_has_materials",
            409,
        )
    record(
        "edition.module_removed",
        target=em,
        edition_id=em.edition_id,
        summary=name,
        before={"module_id": em.module_id, "sessions": len(em.sessions)},
    )
    db.session.delete(em)
    db.session.commit()


def move_module(em: EditionModule, direction: str) -> None:
    """Move a module one place up or down in its edition's programme."""
    modules = list(em.edition.edition_modules)
    index = modules.index(em)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(modules):
        modules[index], modules[other] = modules[other], modules[index]
        for position, item in enumerate(modules):
            item.position = position
        db.session.commit()


def trainer_choices() -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.role == Role.TRAINER, User.active.is_(True))
            .order_by(User.name_order(), User.id)
        )
    )


def set_trainers(
    em: EditionModule,
    trainer_ids: list[int],
    *,
    mandatory: bool | None = None,
    confirm: bool = False,
):
    """Assign the module's trainers (users with the trainer role).

    A trainer who would be in two places at once is raised as `conflicts` unless confirmed.
    """
    trainer_ids = list(trainer_ids or [])  # a form with none ticked sends no value at all
    trainers = list(db.session.scalars(sa.select(User).where(User.id.in_(trainer_ids or [-1]))))
    not_trainers = [u.full_name for u in trainers if u.role != Role.TRAINER]
    if not_trainers or len(trainers) != len(set(trainer_ids)):
        raise ProgrammeError(
            _(
                "Only people with the trainer role can train a module: %(names)s",
                names=fmt_list(not_trainers) or "?",
            ),
            "not_a_trainer",
            field="trainers",
        )
    before = [u.id for u in em.trainers]
    added = [u for u in trainers if u.id not in before]
    conflicts = _trainer_conflicts(em, added)
    if conflicts and not confirm:
        raise ProgrammeError(
            _("A trainer you chose already teaches at the same time. Change it, or save anyway."),
            "conflicts",
            409,
            conflicts=conflicts,
        )
    em.trainers = sorted_people(trainers)
    if mandatory is not None:
        em.mandatory = mandatory
    record(
        "edition.trainers_set",
        target=em,
        edition_id=em.edition_id,
        summary=em.module.name,
        before={"trainers": before},
        after={"trainers": [u.id for u in em.trainers]},
    )
    db.session.commit()
    return em


def _trainer_conflicts(em: EditionModule, trainers: list[User]) -> list["Conflict"]:
    """Sessions elsewhere that overlap this module's sessions and have one of `trainers`."""
    if not trainers or not em.sessions:
        return []
    ids = {t.id for t in trainers}
    names = {t.id: t.full_name for t in trainers}
    tz = em.edition.tz
    conflicts = []
    for mine in em.sessions:
        for other in db.session.scalars(_overlapping(mine.starts_at, mine.ends_at, mine.id)):
            if other.edition_module_id == em.id:
                continue
            for trainer in other.edition_module.trainers:
                if trainer.id in ids:
                    when = f"{other.starts_at.astimezone(tz):%Y-%m-%d %H:%M}"
                    conflicts.append(
                        Conflict(
                            "trainer",
                            _(
                                "%(trainer)s also teaches %(other)s (%(edition)s, %(when)s).",
                                trainer=names[trainer.id],
                                other=other.edition_module.module.name,
                                edition=other.edition_module.edition.title,
                                when=when,
                            ),
                            other,
                        )
                    )
    return conflicts


# --- trainer invitations ------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="trainer-invitation")


def invitation_token(user: User) -> str:
    # The password state is part of the token, so the link stops working once used.
    return _serializer().dumps({"u": user.id, "p": (user.password_hash or "")[-16:]})


def _site_url(endpoint: str, **values) -> str:
    """An absolute link on the public BASE_URL, inside or outside a request."""
    if has_request_context():
        path = url_for(endpoint, **values)
    else:
        with current_app.test_request_context():
            path = url_for(endpoint, **values)
    return current_app.config["BASE_URL"].rstrip("/") + path


def invite_trainer(email: str, full_name: str, em: EditionModule | None = None) -> User:
    """Create a trainer account without a password and email them a link to set one.

    A participant with this email becomes a trainer (recorded); a trainer is assigned as is.
    """
    user = db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))
    if user is not None and user.role in (Role.STAFF, Role.ADMIN):
        raise ProgrammeError(
            _("%(email)s belongs to programme staff, not a trainer.", email=email),
            "email_taken",
            409,
            field="email",
        )
    new = user is None
    if new:
        user = User(email=email, full_name=normalise_line(full_name), role=Role.TRAINER)
        db.session.add(user)
        db.session.flush()
        record("user.invited", target=user, summary=user.email, after={"role": "trainer"})
    elif user.role == Role.PARTICIPANT:
        record(
            "user.role_changed",
            target=user,
            summary=user.email,
            before={"role": user.role.value},
            after={"role": Role.TRAINER.value},
        )
        user.role = Role.TRAINER
    if em is not None and user not in em.trainers:
        em.trainers.append(user)
    if new or not user.password_hash:
        link = _site_url("programme.accept_invitation", token=invitation_token(user))
        queue_email(
            user,
            "trainer_invitation",
            _l(
                "You are invited to train at the %(school)s",
                school=current_app.config["SCHOOL_NAME"],
            ),
            user=user,
            link=link,
            days=max(current_app.config["INVITATION_MAX_AGE"] // 86400, 1),
            module=em.module.name if em else None,
            edition=em.edition.title if em else None,
        )
    db.session.commit()
    return user


def user_for_invitation(token: str) -> User:
    """The invited user of a valid, unused invitation link."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["INVITATION_MAX_AGE"])
    except SignatureExpired as exc:
        raise ProgrammeError(
            _("This invitation has expired. Ask the programme staff for a new one."),
            "invitation_expired",
            410,
        ) from exc
    except BadSignature as exc:
        raise ProgrammeError(
            _("This invitation link is not valid."), "invitation_invalid", 404
        ) from exc
    user = db.session.get(User, data.get("u"))
    if user is None or (user.password_hash or "")[-16:] != data.get("p") or not user.active:
        raise ProgrammeError(
            _("This invitation link has already been used or is no longer valid."),
            "invitation_invalid",
            404,
        )
    return user


def accept_invitation(token: str, password: str) -> User:
    """Set the invited trainer's password; the link then stops working."""
    user = user_for_invitation(token)
    check_new_password(password, ProgrammeError, field="password")
    user.set_password(password)
    user.last_login_at = utcnow()
    record("user.invitation_accepted", target=user, actor=user, summary=user.email)
    db.session.commit()
    return user


# --- sessions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Conflict:
    kind: str  # "trainer" or "room"
    message: str
    other: Session


@dataclass
class SessionInput:
    day: date
    start: time
    end: time
    title: str = ""
    room: str = ""
    online_url: str = ""
    extra: dict = field(default_factory=dict)


def _overlapping(starts: datetime, ends: datetime, exclude_id: int | None) -> sa.Select:
    query = (
        sa.select(Session)
        .join(EditionModule)
        .join(Edition)
        .where(Session.starts_at < ends, Session.ends_at > starts)
        .where(Edition.status != EditionStatus.ARCHIVED)
        .options(
            selectinload(Session.edition_module).selectinload(EditionModule.module),
            selectinload(Session.edition_module).selectinload(EditionModule.edition),
            selectinload(Session.edition_module).selectinload(EditionModule.trainers),
        )
    )
    if exclude_id is not None:
        query = query.where(Session.id != exclude_id)
    return query


def find_conflicts(
    em: EditionModule, starts: datetime, ends: datetime, room: str, exclude_id: int | None = None
) -> list[Conflict]:
    """Sessions that overlap: one of the same trainers, or the same room at the same venue."""
    conflicts = []
    trainer_ids = {t.id for t in em.trainers}
    room_key = room.strip().casefold()
    tz = em.edition.tz
    for other in db.session.scalars(_overlapping(starts, ends, exclude_id)):
        when = (
            f"{other.starts_at.astimezone(tz):%Y-%m-%d %H:%M}–{other.ends_at.astimezone(tz):%H:%M}"
        )
        label = f"{other.edition_module.module.name} ({other.edition_module.edition.title}, {when})"
        shared = [t for t in other.edition_module.trainers if t.id in trainer_ids]
        for trainer in shared:
            conflicts.append(
                Conflict(
                    "trainer",
                    _(
                        "%(trainer)s also teaches %(other)s.",
                        trainer=trainer.full_name,
                        other=label,
                    ),
                    other,
                )
            )
        if (
            room_key
            and other.room.strip().casefold() == room_key
            and other.edition_module.edition.venue.strip().casefold()
            == em.edition.venue.strip().casefold()
        ):
            conflicts.append(
                Conflict(
                    "room", _("%(room)s is booked for %(other)s.", room=room, other=label), other
                )
            )
    return conflicts


def _session_times(em: EditionModule, data: SessionInput) -> tuple[datetime, datetime]:
    edition = em.edition
    if data.end <= data.start:
        raise ProgrammeError(
            _("A session must end after it starts."), "session_ends_before_start", field="end_time"
        )
    if not edition.start_date <= data.day <= edition.end_date:
        raise ProgrammeError(
            _(
                "The session is outside the edition's dates (%(start)s to %(end)s).",
                start=edition.start_date,
                end=edition.end_date,
            ),
            "session_outside_dates",
            field="day",
        )
    return to_utc(data.day, data.start, edition.tz), to_utc(data.day, data.end, edition.tz)


def save_session(
    em: EditionModule,
    data: SessionInput,
    *,
    session: Session | None = None,
    confirm: bool = False,
) -> Session:
    """Add or change a session; overlaps are raised as `conflicts` unless staff confirmed."""
    starts, ends = _session_times(em, data)
    conflicts = find_conflicts(em, starts, ends, data.room, session.id if session else None)
    if conflicts and not confirm:
        raise ProgrammeError(
            _("This session overlaps with other sessions. Change it, or save it anyway."),
            "conflicts",
            409,
            conflicts=conflicts,
        )
    created = session is None
    if created:
        position = max((s.position for s in em.sessions), default=-1) + 1
        session = Session(edition_module=em, position=position)
        db.session.add(session)
    before = None if created else {"starts_at": session.starts_at.isoformat(), "room": session.room}
    change = None if created else SessionChange.before(session)
    session.starts_at, session.ends_at = starts, ends
    session.title, session.room = data.title.strip(), data.room.strip()
    session.online_url = data.online_url.strip()
    db.session.flush()
    record(
        "session.created" if created else "session.updated",
        target=session,
        edition_id=em.edition_id,
        summary=f"{em.module.name} {starts:%Y-%m-%d %H:%M} UTC"
        + (f" ({len(conflicts)} conflicts confirmed)" if conflicts else ""),
        before=before,
        after={"starts_at": starts.isoformat(), "room": session.room},
    )
    if change is not None:
        notify_changes([change])  # participants and trainers: one email each, old -> new
    db.session.commit()
    return session


def delete_session(session: Session) -> None:
    """Delete a session that has no attendance marks."""
    marks = db.session.scalar(
        sa.select(sa.func.count(Attendance.id)).where(Attendance.session_id == session.id)
    )
    if marks:
        raise ProgrammeError(
            _(
                "This session has %(n)d attendance marks and cannot be deleted: they count "
                "towards certificates. Change its time or room instead.",
                n=marks,
            ),
            "session_has_attendance",
            409,
        )
    em = session.edition_module
    record(
        "session.deleted",
        target=session,
        edition_id=em.edition_id,
        summary=em.module.name,
        before={"starts_at": session.starts_at.isoformat(), "room": session.room},
    )
    cancelled = SessionChange.before(session)
    cancelled.cancelled = True
    notify_changes([cancelled])
    db.session.delete(session)
    db.session.commit()


def move_session(session: Session, direction: str) -> None:
    """Swap a session's time slot with the previous or next session of its module."""
    sessions = list(session.edition_module.sessions)
    index = sessions.index(session)
    other_index = index - 1 if direction == "up" else index + 1
    if not 0 <= other_index < len(sessions):
        return
    other = sessions[other_index]
    changes = [SessionChange.before(session), SessionChange.before(other)]
    a_len, b_len = session.ends_at - session.starts_at, other.ends_at - other.starts_at
    first_start = min(session.starts_at, other.starts_at)
    later_start = max(session.starts_at, other.starts_at)
    mover, stayer = (session, other) if direction == "up" else (other, session)
    # The one moving earlier takes the earlier slot's start; each keeps its own length.
    mover_len, stayer_len = (a_len, b_len) if mover is session else (b_len, a_len)
    mover.starts_at, mover.ends_at = first_start, first_start + mover_len
    stayer.starts_at, stayer.ends_at = later_start, later_start + stayer_len
    mover.position, stayer.position = (
        min(mover.position, stayer.position),
        max(mover.position, stayer.position),
    )
    notify_changes(changes)
    db.session.commit()


# --- schedule -----------------------------------------------------------------------------


def schedule_days(edition: Edition, first: date, days: int) -> list[tuple[date, list[Session]]]:
    """Sessions of `days` local days from `first`, each day in time order."""
    tz = edition.tz
    starts = to_utc(first, time(0), tz)
    ends = to_utc(first + timedelta(days=days), time(0), tz)
    sessions = db.session.scalars(
        sa.select(Session)
        .join(EditionModule)
        .where(
            EditionModule.edition_id == edition.id,
            Session.starts_at >= starts,
            Session.starts_at < ends,
        )
        .order_by(Session.starts_at, Session.position)
        .options(
            selectinload(Session.edition_module).selectinload(EditionModule.module),
            selectinload(Session.edition_module).selectinload(EditionModule.trainers),
        )
    ).all()
    by_day: dict[date, list[Session]] = {first + timedelta(days=i): [] for i in range(days)}
    for s in sessions:
        by_day.setdefault(s.starts_at.astimezone(tz).date(), []).append(s)
    return sorted(by_day.items())


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def now_utc() -> datetime:
    return datetime.now(UTC)
