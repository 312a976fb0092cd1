"""How certificate eligibility is decided: every rule in this module.

1. Only **accepted** participants can receive a certificate.
2. A participant is **planned** at every session of the edition, or, when the edition lets
   people choose modules, at the sessions of the modules they chose
   (schoolmgr.attendance.tally counts them).
3. A session is **credited** when it is marked present or late, or excused when the edition
   counts excused absences as attended (`credited_statuses` on the attendance model).
4. The **attendance rule**: at least `certificate_threshold` percent of the planned sessions
   credited, rounded up (`sessions_needed`); nothing planned means not eligible.
5. The **mandatory modules rule**: each mandatory module the participant follows needs the same
   percentage of its own sessions credited.
6. **Staff decisions** (`set_override`, with a written reason) come last: "excluded" always
   wins; "granted" (an exception) makes eligible someone who does not meet rules 4 and 5.

A participant's state is then eligible, exception (granted), pending (not yet, but sessions
still to come or unmarked could get them there), ineligible or excluded. The whole edition
(`edition_standing`) and one registration (`evaluate_registration`) are judged by the same
code from the same counts (`edition_tallies`), the latter with one registration id.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import joinedload

from schoolmgr import audit
from schoolmgr.attendance.tally import AttendanceTally, EditionTallies, edition_tallies
from schoolmgr.certificates.errors import CertificateError
from schoolmgr.certificates.lookup import current_certificate
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.models import (
    Certificate,
    CertificateOverride,
    Edition,
    EditionModule,
    Registration,
    RegistrationStatus,
    User,
    utcnow,
)
from schoolmgr.pagination import paginate
from schoolmgr.text import name_collation, person_sort_key

STATES = ("eligible", "exception", "pending", "ineligible", "excluded")


def sessions_needed(planned: int, threshold: int) -> int:
    """Credited sessions needed out of `planned` for a `threshold` percent (rounded up)."""
    return math.ceil(planned * threshold / 100 - 1e-9)


def _state(meets_rules: bool, override: CertificateOverride | None, can_still_reach: bool) -> str:
    if override == CertificateOverride.EXCLUDED:
        return "excluded"
    if meets_rules:
        return "eligible"
    if override == CertificateOverride.GRANTED:
        return "exception"
    return "pending" if can_still_reach else "ineligible"


def _is_eligible(meets_rules: bool, override: CertificateOverride | None) -> bool:
    """Eligible by the rules or by a staff exception, and not excluded."""
    if override == CertificateOverride.EXCLUDED:
        return False
    return meets_rules or override == CertificateOverride.GRANTED


@dataclass
class Eligibility:
    """Whether one accepted participant gets a certificate, and why (or why not)."""

    registration: Registration
    tally: AttendanceTally
    needed: int
    attendance_ok: bool
    missed_mandatory: list[str]
    can_still_reach: bool
    reasons: list[str] = field(default_factory=list)
    certificate: Certificate | None = None

    @property
    def override(self) -> CertificateOverride | None:
        return self.registration.certificate_override

    @property
    def meets_rules(self) -> bool:
        return self.attendance_ok and not self.missed_mandatory

    @property
    def eligible(self) -> bool:
        """Eligible by the rules or by a staff exception, and not excluded."""
        return _is_eligible(self.meets_rules, self.override)

    @property
    def state(self) -> str:
        return _state(self.meets_rules, self.override, self.can_still_reach)


@dataclass(frozen=True)
class Standing:
    """Where one accepted participant stands: cheap enough to know for the whole edition."""

    registration_id: int
    name: str
    state: str
    eligible: bool
    certificate_id: int | None


@dataclass
class EditionStanding:
    """Every accepted participant's standing, by name, and what the page rows are built from."""

    standings: list[Standing]
    attendance: EditionTallies  # what the page rows are judged from
    now: datetime

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATES, 0)
        for standing in self.standings:
            counts[standing.state] += 1
        return counts

    @property
    def missing_ids(self) -> list[int]:
        """Eligible participants without a current certificate, by name."""
        return [
            s.registration_id for s in self.standings if s.eligible and s.certificate_id is None
        ]

    @property
    def issued(self) -> int:
        return sum(1 for s in self.standings if s.certificate_id is not None)


# --------------------------------------------------------------------------------------------
# The rules applied to one participant's counts


@dataclass(frozen=True)
class _Judgement:
    needed: int
    attendance_ok: bool
    can_reach_attendance: bool
    missed: list[EditionModule]
    can_still_reach: bool


def _judge(edition: Edition, attendance: EditionTallies, registration_id: int) -> _Judgement:
    """Rules 4 and 5 applied to one participant's counts (no queries)."""
    tally = attendance.tallies[registration_id]
    chosen = attendance.chosen_modules(registration_id)
    credit = attendance.mandatory_credit.get(registration_id, {})
    needed = sessions_needed(tally.planned, edition.certificate_threshold)
    attendance_ok = tally.planned > 0 and tally.credited >= needed
    # Sessions not yet held or not yet marked could still count.
    open_sessions = max(tally.remaining, tally.unmarked)
    can_reach_attendance = tally.planned > 0 and tally.credited + open_sessions >= needed
    missed = []
    for em in edition.edition_modules:
        if not em.mandatory or (chosen is not None and em.id not in chosen):
            continue
        credited, planned = credit.get(em.id, (0, 0))
        if planned and credited < sessions_needed(planned, edition.certificate_threshold):
            missed.append(em)
    can_reach_mandatory = not (missed and not tally.remaining)
    return _Judgement(
        needed=needed,
        attendance_ok=attendance_ok,
        can_reach_attendance=can_reach_attendance,
        missed=missed,
        can_still_reach=bool(tally.remaining) and can_reach_attendance and can_reach_mandatory,
    )


def _reasons(tally: AttendanceTally, judged: _Judgement, registration: Registration) -> list[str]:
    """Why (or why not), in the words staff read on the eligibility page."""
    reasons = []
    if tally.planned == 0:
        reasons.append(_("no sessions planned"))
    elif not judged.attendance_ok:
        reasons.append(
            _(
                "attended %(credited)d of %(planned)d sessions, needs %(needed)d",
                credited=tally.credited,
                planned=tally.planned,
                needed=judged.needed,
            )
        )
    else:
        reasons.append(
            _(
                "attended %(credited)d of %(planned)d sessions",
                credited=tally.credited,
                planned=tally.planned,
            )
        )
    if tally.excused and tally.excused_counts_as_attended:
        reasons.append(_("excused absences counted: %(count)d", count=tally.excused))
    for em in judged.missed:
        reasons.append(_("missed mandatory module %(module)s", module=em.module.name))
    if not judged.attendance_ok and judged.can_reach_attendance and tally.remaining:
        reasons.append(
            _(
                "%(count)d sessions still to come: can still reach the threshold",
                count=tally.remaining,
            )
        )
    override = registration.certificate_override
    if override == CertificateOverride.GRANTED:
        reasons.append(
            _("exception granted: %(reason)s", reason=registration.certificate_override_reason)
        )
    elif override == CertificateOverride.EXCLUDED:
        reasons.append(_("excluded: %(reason)s", reason=registration.certificate_override_reason))
    return reasons


def _evaluate(
    edition: Edition,
    registration: Registration,
    attendance: EditionTallies,
    certificate: Certificate | None,
) -> Eligibility:
    tally = attendance.tallies[registration.id]
    judged = _judge(edition, attendance, registration.id)
    return Eligibility(
        registration=registration,
        tally=tally,
        needed=judged.needed,
        attendance_ok=judged.attendance_ok,
        missed_mandatory=[em.module.name for em in judged.missed],
        can_still_reach=judged.can_still_reach,
        reasons=_reasons(tally, judged, registration),
        certificate=certificate,
    )


# --------------------------------------------------------------------------------------------
# The whole edition, a page of it, or one registration


def edition_standing(edition: Edition, now: datetime | None = None) -> EditionStanding:
    """The standing of every accepted participant of `edition`, sorted by name.

    A fixed number of queries (six at most) and no ORM objects per participant, so thousands of
    registrations stay fast; `eligibility_rows` then gives the full rows of one page.
    """
    now = now or utcnow()
    attendance = edition_tallies(edition, now)
    accepted = db.session.execute(
        sa.select(Registration.id, User.full_name, Registration.certificate_override)
        .join(User, User.id == Registration.user_id)
        .where(
            Registration.edition_id == edition.id,
            Registration.status == RegistrationStatus.ACCEPTED,
        )
    ).all()
    current = dict(
        db.session.execute(
            sa.select(Certificate.registration_id, Certificate.id)
            .join(Registration, Registration.id == Certificate.registration_id)
            .where(Registration.edition_id == edition.id, Certificate.superseded_at.is_(None))
        ).all()
    )
    standings = []
    for reg_id, name, override in accepted:
        if reg_id not in attendance.tallies:  # accepted between the two reads
            continue
        judged = _judge(edition, attendance, reg_id)
        meets_rules = judged.attendance_ok and not judged.missed
        standings.append(
            Standing(
                registration_id=reg_id,
                name=name,
                state=_state(meets_rules, override, judged.can_still_reach),
                eligible=_is_eligible(meets_rules, override),
                certificate_id=current.get(reg_id),
            )
        )
    locale = name_collation()
    standings.sort(key=lambda s: (person_sort_key(s.name, locale), s.registration_id))
    return EditionStanding(standings, attendance, now)


def eligibility_rows(
    edition: Edition, standing: EditionStanding, registration_ids: list[int]
) -> list[Eligibility]:
    """Full rows (registration, user, certificate, reasons) of the given participants, in
    that order: two queries for a page of them (their counts are in `standing`)."""
    if not registration_ids:
        return []
    registrations = {
        r.id: r
        for r in db.session.scalars(
            sa.select(Registration)
            .where(Registration.id.in_(registration_ids))
            .options(joinedload(Registration.user))
        ).unique()
    }
    current = {
        c.registration_id: c
        for c in db.session.scalars(
            sa.select(Certificate).where(
                Certificate.registration_id.in_(registration_ids),
                Certificate.superseded_at.is_(None),
            )
        )
    }
    return [
        _evaluate(edition, registrations[reg_id], standing.attendance, current.get(reg_id))
        for reg_id in registration_ids
        if reg_id in registrations and reg_id in standing.attendance.tallies
    ]


def eligibility_page(edition: Edition) -> tuple[EditionStanding, Pagination, list[Eligibility]]:
    """The whole edition's standing, the requested page (?page=N) and that page's full rows."""
    standing = edition_standing(edition)
    pager = paginate(standing.standings)
    rows = eligibility_rows(edition, standing, [s.registration_id for s in pager.items])
    return standing, pager, rows


def evaluate_edition(edition: Edition, now: datetime | None = None) -> list[Eligibility]:
    """Eligibility of every accepted participant of `edition`, sorted by name (fixed queries)."""
    standing = edition_standing(edition, now)
    return eligibility_rows(edition, standing, [s.registration_id for s in standing.standings])


def evaluate_registration(registration: Registration, now: datetime | None = None) -> Eligibility:
    """Eligibility of one accepted participant: the edition's rules with one registration id."""
    if registration.status != RegistrationStatus.ACCEPTED:
        raise CertificateError(
            _("Only accepted participants can receive a certificate."), "not_accepted"
        )
    edition = registration.edition
    attendance = edition_tallies(edition, now, registration_ids=[registration.id])
    return _evaluate(edition, registration, attendance, current_certificate(registration))


# --------------------------------------------------------------------------------------------
# Staff decisions: exceptions and exclusions


def edition_registration(edition: Edition, registration_id: int) -> Registration:
    """The edition's accepted registration with this id (staff act on it), or an error."""
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.edition_id != edition.id:
        raise CertificateError(_("No such participant in this edition."), "not_found", 404)
    if registration.status != RegistrationStatus.ACCEPTED:
        raise CertificateError(
            _("Only accepted participants can receive a certificate."), "not_accepted"
        )
    return registration


def registration_name(edition: Edition, registration_id: int) -> str | None:
    """The participant's name, for a confirmation ("issue to Ана Јовановић?"), or None."""
    return db.session.scalar(
        sa.select(User.full_name)
        .join(Registration, Registration.user_id == User.id)
        .where(Registration.id == registration_id, Registration.edition_id == edition.id)
    )


def set_override(
    edition: Edition, registration_id: int, decision: str, reason: str, actor: User
) -> Registration:
    """Grant an exception ("granted"), exclude ("excluded") or clear ("clear"), with a reason."""
    registration = edition_registration(edition, registration_id)
    reason = (reason or "").strip()
    if decision != "clear" and len(reason) < 5:
        raise CertificateError(_("Write the reason for this decision."), "reason_required")
    before = {
        "override": registration.certificate_override.value
        if registration.certificate_override
        else None,
        "reason": registration.certificate_override_reason,
    }
    if decision == "granted":
        if evaluate_registration(registration).meets_rules:
            raise CertificateError(
                _("This participant is already eligible; no exception is needed."),
                "already_eligible",
            )
        registration.certificate_override = CertificateOverride.GRANTED
        action = "certificate.exception_granted"
        summary = _("Exception granted to %(name)s", name=registration.user.full_name)
    elif decision == "excluded":
        registration.certificate_override = CertificateOverride.EXCLUDED
        action = "certificate.excluded"
        summary = _("%(name)s excluded from certificates", name=registration.user.full_name)
    elif decision == "clear":
        registration.certificate_override = None
        action = "certificate.override_cleared"
        summary = _(
            "Exception or exclusion of %(name)s withdrawn", name=registration.user.full_name
        )
    else:
        raise CertificateError(_("Unknown decision."), "bad_decision")
    registration.certificate_override_reason = reason if decision != "clear" else ""
    registration.certificate_override_by_id = actor.id if decision != "clear" else None
    registration.certificate_override_at = utcnow() if decision != "clear" else None
    audit.record(
        action,
        target=registration,
        actor=actor,
        edition_id=edition.id,
        summary=summary,
        reason=reason,
        before=before,
        after={"override": decision if decision != "clear" else None, "reason": reason},
    )
    db.session.commit()
    return registration
