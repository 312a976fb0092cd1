"""Rules for managing people: who may change whose role, and the audit trail of every change."""

import sqlalchemy as sa

from schoolmgr.audit import record
from schoolmgr.auth.sessions import end_all_sessions
from schoolmgr.errors import DomainError, rolls_back
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.models import (
    Country,
    Edition,
    EditionModule,
    EditionStatus,
    Gender,
    InstitutionType,
    Module,
    Role,
    User,
    edition_module_trainers,
)
from schoolmgr.text import search_terms

PRIVILEGED = (Role.STAFF, Role.ADMIN)


class PeopleError(DomainError):
    """Codes: admin_only, own_account, last_admin, no_change, trainer_assigned, anonymised,
    country_required."""


def users_query(q: str | None = None, role: str | None = None, active: str | None = None):
    """Users matching every folded search word (name, email, institution, country), by name."""
    query = sa.select(User).order_by(User.name_order(), User.id)
    for term in search_terms(q):
        countries = [c for c in Country if term in c.label.casefold() or term == c.value.lower()]
        condition = User.search_key.contains(term, autoescape=True)
        if countries:
            condition = sa.or_(condition, User.country.in_(countries))
        query = query.where(condition)
    if role in {r.value for r in Role}:
        query = query.where(User.role == Role(role))
    if active in ("yes", "no"):
        query = query.where(User.active.is_(active == "yes"))
    return query


def allowed_roles(actor: User, user: User) -> list[Role]:
    """The roles `actor` may give `user`."""
    if actor.role == Role.ADMIN:
        return list(Role)
    if user.role in PRIVILEGED:
        return []
    return [Role.PARTICIPANT, Role.TRAINER, Role.COORDINATOR]


def _guard(actor: User, user: User) -> None:
    if actor.id == user.id:
        raise PeopleError(
            _("You cannot change your own role or deactivate your own account."),
            "own_account",
            403,
        )
    if actor.role != Role.ADMIN and user.role in PRIVILEGED:
        raise PeopleError(
            _("Only administrators can change programme staff and administrators."),
            "admin_only",
            403,
        )


def _other_active_admins(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(User.id)).where(
            User.role == Role.ADMIN, User.active.is_(True), User.id != user.id
        )
    )


def _modules_taught(user: User) -> list[str]:
    """Modules of editions not yet archived that `user` trains, as "Module (Edition)"."""
    rows = db.session.execute(
        sa.select(Module.name, Edition.title)
        .join(EditionModule, EditionModule.module_id == Module.id)
        .join(Edition, Edition.id == EditionModule.edition_id)
        .join(
            edition_module_trainers, edition_module_trainers.c.edition_module_id == EditionModule.id
        )
        .where(
            edition_module_trainers.c.user_id == user.id,
            Edition.status != EditionStatus.ARCHIVED,
        )
        .order_by(Edition.start_date, Module.name)
    )
    return [f"{module} ({edition})" for module, edition in rows]


@rolls_back
def change_role(
    actor: User,
    user: User,
    role: Role,
    reason: str = "",
    coordinator_country: Country | str | None = None,
) -> User:
    """Give `user` a new role; only administrators make or unmake staff and administrators.

    A national coordinator needs the country they coordinate (one of the six administrations);
    giving a coordinator another country is a change too.
    """
    role = Role(role)
    country = Country(coordinator_country) if coordinator_country else None
    _guard(actor, user)
    if role == Role.COORDINATOR and country in (None, Country.OTHER):
        raise PeopleError(
            _("Choose the country the national coordinator works for."), "country_required"
        )
    if role != Role.COORDINATOR:
        country = None
    if role in PRIVILEGED and actor.role != Role.ADMIN:
        raise PeopleError(
            _("Only administrators can make someone programme staff or an administrator."),
            "admin_only",
            403,
        )
    if role == user.role and country == user.coordinator_country:
        raise PeopleError(_("%(name)s already has this role.", name=user.full_name), "no_change")
    if user.role == Role.ADMIN and not _other_active_admins(user):
        raise PeopleError(_("The last administrator cannot be demoted."), "last_admin", 409)
    if user.role == Role.TRAINER and role == Role.PARTICIPANT:
        teaching = _modules_taught(user)
        if teaching:
            raise PeopleError(
                _(
                    "%(name)s still trains %(modules)s. Assign other trainers there first.",
                    name=user.full_name,
                    modules="; ".join(teaching),
                ),
                "trainer_assigned",
                409,
            )
    before = {"role": user.role.value}
    after = {"role": role.value}
    if user.coordinator_country or country:
        before["coordinator_country"] = getattr(user.coordinator_country, "value", None)
        after["coordinator_country"] = getattr(country, "value", None)
    user.role = role
    user.coordinator_country = country
    # A lower role must not keep rights in sessions signed in under the higher one.
    end_all_sessions(user)
    record(
        "user.role_changed",
        target=user,
        actor=actor,
        summary=f"{user.email}: {before['role']} → {role.value}"
        + (f" ({country.value})" if country else ""),
        reason=reason,
        before=before,
        after=after,
    )
    db.session.commit()
    return user


@rolls_back
def set_active(actor: User, user: User, active: bool, reason: str = "") -> User:
    """Deactivate (signing the user out everywhere) or reactivate an account."""
    _guard(actor, user)
    if user.active == active:
        raise PeopleError(
            _("The account is already active.")
            if active
            else _("The account is already deactivated."),
            "no_change",
        )
    if not active and user.role == Role.ADMIN and not _other_active_admins(user):
        raise PeopleError(_("The last administrator cannot be deactivated."), "last_admin", 409)
    user.active = active
    if not active:
        end_all_sessions(user)
    record(
        "user.reactivated" if active else "user.deactivated",
        target=user,
        actor=actor,
        summary=user.email,
        reason=reason,
        before={"active": not active},
        after={"active": active},
    )
    db.session.commit()
    return user


@rolls_back
def set_report_answers(
    actor: User, user: User, gender: str | None, institution_type: str | None
) -> User:
    """Record the optional gender and institution type a person gave (e.g. on a paper form).

    The log names the fields that changed; the gender itself stays out of it.
    """
    if user.anonymised_at is not None:
        raise PeopleError(_("This account is anonymised: it holds no details."), "anonymised", 409)
    new_gender = Gender(gender) if gender else None
    new_type = InstitutionType(institution_type) if institution_type else None
    changed = []
    if new_gender != user.gender:
        changed.append("gender")
    if new_type != user.institution_type:
        changed.append("institution_type")
    if not changed:
        raise PeopleError(_("Nothing changed."), "no_change")
    before_type = user.institution_type.value if user.institution_type else None
    user.gender = new_gender
    user.institution_type = new_type
    record(
        "user.profile_updated",
        target=user,
        actor=actor,
        summary=", ".join(changed),
        before={"institution_type": before_type} if "institution_type" in changed else None,
        after={"institution_type": institution_type or None}
        if "institution_type" in changed
        else None,
    )
    db.session.commit()
    return user
