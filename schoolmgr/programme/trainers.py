"""Trainers: assigning them to an edition's modules, and inviting new ones."""

import sqlalchemy as sa
from flask import current_app

from schoolmgr.audit import record
from schoolmgr.auth.services import check_new_password
from schoolmgr.auth.tokens import (
    ExpiredLinkError,
    InvalidLinkError,
    account_link_token,
    user_for_account_link,
)
from schoolmgr.errors import rolls_back
from schoolmgr.extensions import db
from schoolmgr.i18n import fmt_list
from schoolmgr.i18n import gettext as _
from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.mail import queue_email
from schoolmgr.models import (
    EditionModule,
    Role,
    User,
    normalise_email,
    utcnow,
)
from schoolmgr.programme.errors import ProgrammeError
from schoolmgr.programme.sessions import Conflict, overlapping_sessions
from schoolmgr.text import normalise_line, sorted_people
from schoolmgr.urls import site_url


def trainer_choices() -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.role == Role.TRAINER, User.active.is_(True))
            .order_by(User.name_order(), User.id)
        )
    )


@rolls_back
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
        for other in db.session.scalars(
            overlapping_sessions(mine.starts_at, mine.ends_at, mine.id)
        ):
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


INVITATION = "trainer-invitation"


def invitation_token(user: User) -> str:
    return account_link_token(user, INVITATION)


@rolls_back
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
        link = site_url("programme.accept_invitation", token=invitation_token(user))
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
        return user_for_account_link(token, INVITATION, current_app.config["INVITATION_MAX_AGE"])
    except ExpiredLinkError as exc:
        raise ProgrammeError(
            _("This invitation has expired. Ask the programme staff for a new one."),
            "invitation_expired",
            410,
        ) from exc
    except InvalidLinkError as exc:
        raise ProgrammeError(
            _("This invitation link is not valid.")
            if not exc.used
            else _("This invitation link has already been used or is no longer valid."),
            "invitation_invalid",
            404,
        ) from exc


@rolls_back
def accept_invitation(token: str, password: str) -> User:
    """Set the invited trainer's password; the link then stops working."""
    user = user_for_invitation(token)
    check_new_password(password, ProgrammeError, field="password")
    user.set_password(password)
    user.last_login_at = utcnow()
    record("user.invitation_accepted", target=user, actor=user, summary=user.email)
    db.session.commit()
    return user
