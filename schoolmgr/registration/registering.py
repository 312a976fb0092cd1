"""A participant's side: registering (accepted, waitlisted or pending), cancelling, their list."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from schoolmgr import audit
from schoolmgr.errors import rolls_back
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.models import (
    Country,
    Edition,
    EditionModule,
    Gender,
    InstitutionType,
    Registration,
    RegistrationMode,
    RegistrationStatus,
    User,
    registration_modules,
    utcnow,
)
from schoolmgr.registration.emails import notify
from schoolmgr.registration.errors import RegistrationError
from schoolmgr.registration.seats import (
    fill_free_seats,
    lock_edition,
    quota_country,
    reload_registration,
    renumber_waitlist,
    seat_book,
    snapshot,
)
from schoolmgr.text import normalise_line

CLOSED_REASONS = {  # Edition.why_registration_is_closed: (message, HTTP status)
    "edition_draft": (_l("This edition is not published."), 404),
    "edition_archived": (_l("This edition is archived and no longer takes registrations."), 400),
    "registration_not_open": (_l("Registration for this edition has not opened yet."), 400),
    "registration_closed": (_l("Registration for this edition is closed."), 400),
}


def check_can_register(edition: Edition, now: datetime) -> None:
    """Raise, saying why, unless the edition takes registrations at `now`."""
    reason = edition.why_registration_is_closed(now)
    if reason is not None:
        message, status = CLOSED_REASONS[reason]
        raise RegistrationError(str(message), reason, status)


def registration_of(user: User, edition: Edition) -> Registration | None:
    return db.session.scalar(
        sa.select(Registration).where(
            Registration.user_id == user.id, Registration.edition_id == edition.id
        )
    )


def _already_registered() -> RegistrationError:
    return RegistrationError(
        _("You are already registered for this edition."), "already_registered", 409
    )


@rolls_back
def register(
    user: User,
    edition: Edition,
    *,
    consent: bool,
    country: Country | str | None = None,
    institution: str | None = None,
    position: str | None = None,
    gender: Gender | str | None = None,
    institution_type: InstitutionType | str | None = None,
    module_ids: list[int] | None = None,
    motivation: str = "",
    needs: str = "",
    now: datetime | None = None,
) -> Registration:
    """Register `user` for `edition`: accepted, waitlisted or pending, and tell them by email.

    Profile fields given here are saved back to the user's profile (an unanswered optional
    gender or institution type leaves the profile's answer as it is). Commits.
    """
    now = now or utcnow()
    edition_id, user_id = edition.id, user.id
    check_can_register(edition, now)
    if not consent:
        raise RegistrationError(
            _("Please agree to the processing of your personal data to register."),
            "consent_required",
            400,
        )
    if registration_of(user, edition) is not None:
        raise _already_registered()
    chosen = _chosen_modules(edition, module_ids or [])

    try:
        locked = lock_edition(edition_id)
        check_can_register(locked, now)  # staff may have closed it meanwhile
        if country:
            user.country = Country(country)
        if institution is not None:
            user.institution = normalise_line(institution)
        if position is not None:
            user.position = normalise_line(position)
        if gender:
            user.gender = Gender(gender)
        if institution_type:
            user.institution_type = InstitutionType(institution_type)
        registration = Registration(
            user=user,
            edition=locked,
            motivation=motivation.strip(),
            needs=needs.strip(),
            consent_at=now,
        )
        registration.modules = chosen
        if locked.registration_mode == RegistrationMode.MODERATED or locked.nomination_required:
            registration.status = RegistrationStatus.PENDING
            template = "registration_received"
        elif seat_book(locked, now).free_for(quota_country(user)) > 0:
            registration.status = RegistrationStatus.ACCEPTED
            registration.decided_at = now
            template = "registration_accepted"
        else:
            last = db.session.scalar(
                sa.select(sa.func.max(Registration.waitlist_position)).where(
                    Registration.edition_id == edition_id,
                    Registration.status == RegistrationStatus.WAITLISTED,
                )
            )
            registration.status = RegistrationStatus.WAITLISTED
            registration.waitlist_position = (last or 0) + 1
            template = "registration_waitlisted"
        db.session.add(registration)
        db.session.flush()
        audit.record(
            "registration.created",
            target=registration,
            actor=user,
            edition_id=edition_id,
            summary=f"{user.full_name} registered ({registration.status.value})",
            after=snapshot(registration),
        )
        notify(template, registration, locked)
        db.session.commit()
    except sa.exc.IntegrityError as exc:  # the same person registering twice at once
        db.session.rollback()
        if db.session.scalar(
            sa.select(Registration.id).where(
                Registration.user_id == user_id, Registration.edition_id == edition_id
            )
        ):
            raise _already_registered() from exc
        raise
    return registration


def _chosen_modules(edition: Edition, module_ids: list[int]) -> list[EditionModule]:
    """The edition modules a participant picked; mandatory ones are always included.

    Editions without a choice store no modules: their participants attend all of them.
    """
    if not edition.module_choice:
        return []
    offered = {em.id: em for em in edition.edition_modules}
    unknown = [mid for mid in module_ids if mid not in offered]
    if unknown:
        raise RegistrationError(_("Choose modules offered by this edition."), "unknown_module", 400)
    chosen = set(module_ids) | {em.id for em in offered.values() if em.mandatory}
    if offered and not chosen:
        raise RegistrationError(
            _("Choose at least one module you want to attend."), "module_required", 400
        )
    return [em for em in edition.edition_modules if em.id in chosen]


def own_registration(user: User, registration_id: int) -> Registration:
    """A registration of `user` (404 for anyone else's, so ids reveal nothing)."""
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.user_id != user.id:
        raise RegistrationError(_("Registration not found."), "not_found", 404)
    return registration


@rolls_back
def cancel(registration: Registration, actor: User, reason: str = "") -> list[Registration]:
    """Cancel a registration; a freed seat goes to the first on the waiting list. Commits.

    Returns the registrations promoted as a result.
    """
    lock_edition(registration.edition_id)
    registration = reload_registration(registration)
    promoted = _cancel_locked(registration, actor, reason)
    db.session.commit()
    return promoted


def _cancel_locked(registration: Registration, actor: User, reason: str) -> list[Registration]:
    if registration.status == RegistrationStatus.CANCELLED:
        raise RegistrationError(
            _("This registration is already cancelled."), "already_cancelled", 409
        )
    if registration.status == RegistrationStatus.REJECTED:
        raise RegistrationError(
            _("A registration that was not accepted cannot be cancelled."), "not_cancellable", 409
        )
    edition = registration.edition
    before = snapshot(registration)
    was = registration.status
    registration.status = RegistrationStatus.CANCELLED
    registration.waitlist_position = None
    registration.cancelled_at = utcnow()
    audit.record(
        "registration.cancelled",
        target=registration,
        actor=actor,
        edition_id=edition.id,
        summary=f"{registration.user.full_name} cancelled",
        reason=reason,
        before=before,
        after=snapshot(registration),
    )
    notify("registration_cancelled", registration, edition)
    promoted: list[Registration] = []
    if was == RegistrationStatus.ACCEPTED:
        db.session.flush()
        promoted = fill_free_seats(edition, actor)
    elif was == RegistrationStatus.WAITLISTED:
        renumber_waitlist(edition.id)
    return promoted


def my_registrations(user: User) -> list[Registration]:
    """A participant's registrations, newest edition first, in a fixed number of queries."""
    return list(
        db.session.scalars(
            sa.select(Registration)
            .join(Registration.edition)
            .where(Registration.user_id == user.id)
            .order_by(Edition.start_date.desc())
            .options(
                selectinload(Registration.edition)
                .selectinload(Edition.edition_modules)
                .selectinload(EditionModule.module),
                selectinload(Registration.modules).selectinload(EditionModule.module),
            )
        )
    )


def accepted_registration_for(user: User, edition_module: EditionModule) -> Registration | None:
    """The user's accepted registration covering this module (chosen, when the edition offers a
    choice of modules)."""
    query = accepted_for_module(
        sa.select(Registration).where(Registration.user_id == user.id), edition_module
    )
    return db.session.scalar(query.limit(1))


def accepted_for_module(query: sa.Select, edition_module: EditionModule) -> sa.Select:
    """Restrict a query over registrations to the module's accepted participants: accepted in
    the edition and, when the edition offers a choice of modules, having chosen this one."""
    chosen = edition_module.id if edition_module.edition.module_choice else None
    return accepted_in(query, edition_module.edition_id, chosen)


def accepted_in(
    query: sa.Select,
    edition_id: int | sa.BindParameter,
    chosen_module_id: int | sa.BindParameter | None = None,
) -> sa.Select:
    """Restrict a query over registrations to those accepted in the edition and, given
    `chosen_module_id` (an edition offering a choice of modules), having chosen that module.
    The ids are values or bind parameters (for a select built once per process)."""
    query = query.where(
        Registration.edition_id == edition_id,
        Registration.status == RegistrationStatus.ACCEPTED,
    )
    if chosen_module_id is not None:
        query = query.join(
            registration_modules, registration_modules.c.registration_id == Registration.id
        ).where(registration_modules.c.edition_module_id == chosen_module_id)
    return query
