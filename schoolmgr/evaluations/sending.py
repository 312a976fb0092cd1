"""Evaluation invitations and the one reminder (`flask evaluations send`)."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from schoolmgr.evaluations.answering import (
    eligible_registrations,
    part_is_open,
    part_label,
    scheduled_openings,
)
from schoolmgr.extensions import db
from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.mail import queue_email
from schoolmgr.models import (
    EditionModule,
    EvaluationForm,
    EvaluationInvitation,
    EvaluationPart,
    EvaluationSubmission,
    Registration,
    utcnow,
)
from schoolmgr.urls import site_url


@dataclass
class SendResult:
    invited: int = 0
    reminded: int = 0
    emails: int = 0


def send_due(now: datetime | None = None) -> SendResult:
    """Invite once to every open part, remind once after the form's reminder days; idempotent.

    The invitation rows (primary key: part and registration) are written in the same
    transaction as the email they record, so a second run finds them and sends nothing again.
    """
    now = now or utcnow()
    result = SendResult()
    forms = db.session.scalars(
        sa.select(EvaluationForm)
        .where(EvaluationForm.is_open)
        .options(
            joinedload(EvaluationForm.edition),
            selectinload(EvaluationForm.parts)
            .joinedload(EvaluationPart.edition_module)
            .joinedload(EditionModule.module),
        )
        .order_by(EvaluationForm.id)
    ).all()
    for form in forms:
        openings = scheduled_openings(form)
        new: dict[int, list[EvaluationPart]] = defaultdict(list)
        remind: dict[int, list[EvaluationPart]] = defaultdict(list)
        for part in form.parts:
            if not part_is_open(part, openings, now):
                continue
            answered = sa.select(EvaluationSubmission.registration_id).where(
                EvaluationSubmission.part_id == part.id
            )
            invited = sa.select(EvaluationInvitation.registration_id).where(
                EvaluationInvitation.part_id == part.id
            )
            for registration_id in db.session.scalars(
                eligible_registrations(part).where(
                    Registration.id.not_in(answered), Registration.id.not_in(invited)
                )
            ):
                new[registration_id].append(part)
            for invitation in db.session.scalars(
                sa.select(EvaluationInvitation).where(
                    EvaluationInvitation.part_id == part.id,
                    EvaluationInvitation.reminded_at.is_(None),
                    EvaluationInvitation.invited_at <= now - timedelta(days=form.reminder_days),
                    EvaluationInvitation.registration_id.not_in(answered),
                )
            ):
                invitation.reminded_at = now
                remind[invitation.registration_id].append(part)
        for registration_id, parts in new.items():
            for part in parts:
                db.session.add(
                    EvaluationInvitation(
                        part_id=part.id, registration_id=registration_id, invited_at=now
                    )
                )
            _email(form, registration_id, parts, reminder=False)
            result.invited += len(parts)
            result.emails += 1
        for registration_id, parts in remind.items():
            _email(form, registration_id, parts, reminder=True)
            result.reminded += len(parts)
            result.emails += 1
        try:
            db.session.commit()
        except IntegrityError:  # another run got there first: it sends these, not us
            db.session.rollback()
    return result


def _email(form: EvaluationForm, registration_id: int, parts: list, reminder: bool) -> None:
    registration = db.session.get(Registration, registration_id)
    user = registration.user
    if not user.active or user.anonymised_at is not None:
        return  # a deleted account: recorded as invited, never written to
    links = [(part_label(part), site_url("evaluations.answer", part_id=part.id)) for part in parts]
    subject = (
        _l("Reminder: your evaluation of %(t)s is waiting", t=form.edition.title)
        if reminder
        else _l("Your evaluation of %(t)s is waiting", t=form.edition.title)
    )
    queue_email(
        user,
        "evaluation_invitation",
        subject,
        user=user,
        form=form,
        links=links,
        reminder=reminder,
    )
