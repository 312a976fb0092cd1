"""Certificate rules: eligibility, exceptions, issuing, reissuing, revoking, verifying.

Every rule that can say no raises CertificateError with a stable `code`. Issuing is idempotent:
the database holds at most one current certificate per registration, so running a bulk issue
again (after a crash, or twice at once) only issues what is missing.
"""

from __future__ import annotations

import hashlib
import math
import os
import socket
import tempfile
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from schoolmgr import audit
from schoolmgr.attendance.services import (
    AttendanceTally,
    EditionData,
    tally_edition_data,
    tally_registration,
)
from schoolmgr.certificates import codes, rendering
from schoolmgr.credentials import services as credentials
from schoolmgr.errors import DomainError
from schoolmgr.extensions import db
from schoolmgr.i18n import DEFAULT_LANGUAGE, in_language, is_supported
from schoolmgr.mail import queue_email
from schoolmgr.models import (
    Attendance,
    AttendanceStatus,
    Certificate,
    CertificateBatch,
    CertificateBatchStatus,
    CertificateOverride,
    Edition,
    EditionFormat,
    EditionModule,
    Registration,
    RegistrationStatus,
    Session,
    User,
    utcnow,
)
from schoolmgr.models.edition import CERTIFICATE_PARTICIPANT_LANGUAGE
from schoolmgr.pagination import paginate_list
from schoolmgr.public.services import edition_with_modules
from schoolmgr.text import fold, name_collation, person_sort_key
from schoolmgr.timeutils import fmt_date, fmt_date_range


class CertificateError(DomainError):
    """A certificate rule said no; `code` is stable."""


# Public reason categories (the verify page shows these; the written reason stays internal).
REVOKE_CATEGORIES = {
    "issued_in_error": _l("Issued in error"),
    "attendance_corrected": _l("Attendance record corrected"),
    "misconduct": _l("Breach of the code of conduct"),
    "holder_request": _l("Withdrawn at the holder's request"),
    "other": _l("Other"),
}


# --------------------------------------------------------------------------------------------
# Eligibility


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


STATES = ("eligible", "exception", "pending", "ineligible", "excluded")


@dataclass
class EditionStanding:
    """Every accepted participant's standing, by name, and what the page rows are built from."""

    standings: list[Standing]
    tallies: dict[int, AttendanceTally]
    mandatory: dict[int, dict[int, tuple[int, int]]]
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


def sessions_needed(planned: int, threshold: int) -> int:
    return math.ceil(planned * threshold / 100 - 1e-9)


def _credited_statuses(edition: Edition) -> set[AttendanceStatus]:
    statuses = {AttendanceStatus.PRESENT, AttendanceStatus.LATE}
    if edition.excused_counts_as_attended:
        statuses.add(AttendanceStatus.EXCUSED)
    return statuses


def edition_standing(edition: Edition, now: datetime | None = None) -> EditionStanding:
    """The standing of every accepted participant of `edition`, sorted by name.

    A fixed number of queries (six at most) and no ORM objects per participant, so thousands of
    registrations stay fast; `eligibility_rows` then gives the full rows of one page.
    """
    now = now or utcnow()
    data, tallies = tally_edition_data(edition, now)
    mandatory = _mandatory_from_data(edition, data)
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
        if reg_id not in tallies:  # accepted between the two reads
            continue
        chosen = data.chosen.get(reg_id, set()) if edition.module_choice else None
        judged = _judge(edition, tallies[reg_id], chosen, mandatory.get(reg_id, {}))
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
    return EditionStanding(standings, tallies, mandatory, now)


def eligibility_rows(
    edition: Edition, standing: EditionStanding, registration_ids: list[int]
) -> list[Eligibility]:
    """Full rows (registration, user, certificate, reasons) of the given participants, in
    that order: three queries for a page of them."""
    if not registration_ids:
        return []
    registrations = {
        r.id: r
        for r in db.session.scalars(
            sa.select(Registration)
            .where(Registration.id.in_(registration_ids))
            .options(joinedload(Registration.user), selectinload(Registration.modules))
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
        _evaluate(
            edition,
            registrations[reg_id],
            standing.tallies[reg_id],
            standing.mandatory,
            current.get(reg_id),
        )
        for reg_id in registration_ids
        if reg_id in registrations and reg_id in standing.tallies
    ]


def eligibility_page(edition: Edition) -> tuple[EditionStanding, Pagination, list[Eligibility]]:
    """The whole edition's standing, the requested page (?page=N) and that page's full rows."""
    standing = edition_standing(edition)
    pager = paginate_list(standing.standings)
    rows = eligibility_rows(edition, standing, [s.registration_id for s in pager.items])
    return standing, pager, rows


def evaluate_edition(edition: Edition, now: datetime | None = None) -> list[Eligibility]:
    """Eligibility of every accepted participant of `edition`, sorted by name (fixed queries)."""
    standing = edition_standing(edition, now)
    return eligibility_rows(edition, standing, [s.registration_id for s in standing.standings])


def evaluate_registration(registration: Registration, now: datetime | None = None) -> Eligibility:
    if registration.status != RegistrationStatus.ACCEPTED:
        raise CertificateError(
            _("Only accepted participants can receive a certificate."), "not_accepted"
        )
    tally = tally_registration(registration, now)
    mandatory = _mandatory_credit(registration.edition, [registration.id])
    return _evaluate(
        registration.edition, registration, tally, mandatory, current_certificate(registration)
    )


def _mandatory_from_data(
    edition: Edition, data: EditionData
) -> dict[int, dict[int, tuple[int, int]]]:
    """As `_mandatory_credit`, for every accepted participant, from the edition's loaded marks."""
    module_ids = [em.id for em in edition.edition_modules if em.mandatory]
    if not module_ids:
        return {}
    sessions_of: dict[int, list[int]] = defaultdict(list)
    for session_id, _ends, em_id in data.sessions:
        if em_id in module_ids:
            sessions_of[em_id].append(session_id)
    credited_statuses = _credited_statuses(edition)
    result = {}
    for reg_id in data.registration_ids:
        marks = data.marks.get(reg_id, {})
        result[reg_id] = {
            em_id: (
                sum(1 for s in sessions_of[em_id] if marks.get(s) in credited_statuses),
                len(sessions_of[em_id]),
            )
            for em_id in module_ids
        }
    return result


def _mandatory_credit(
    edition: Edition, registration_ids: list[int]
) -> dict[int, dict[int, tuple[int, int]]]:
    """Per mandatory module: registration id -> {edition module id: (credited, planned)}."""
    modules = [em for em in edition.edition_modules if em.mandatory]
    if not modules or not registration_ids:
        return {}
    module_ids = [em.id for em in modules]
    sessions = db.session.execute(
        sa.select(Session.id, Session.edition_module_id).where(
            Session.edition_module_id.in_(module_ids)
        )
    ).all()
    credited_statuses = _credited_statuses(edition)
    credited: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for reg_id, em_id in db.session.execute(
        sa.select(Attendance.registration_id, Session.edition_module_id)
        .join(Session, Session.id == Attendance.session_id)
        .where(
            Session.edition_module_id.in_(module_ids),
            Attendance.registration_id.in_(registration_ids),
            Attendance.status.in_(credited_statuses),
        )
    ):
        credited[reg_id][em_id] += 1
    planned = defaultdict(int)
    for _id, em_id in sessions:
        planned[em_id] += 1
    return {
        reg_id: {em_id: (credited[reg_id][em_id], planned[em_id]) for em_id in module_ids}
        for reg_id in registration_ids
    }


@dataclass(frozen=True)
class _Judgement:
    needed: int
    attendance_ok: bool
    can_reach_attendance: bool
    missed: list[EditionModule]
    can_still_reach: bool


def _judge(
    edition: Edition,
    tally: AttendanceTally,
    chosen: set[int] | None,
    credit: dict[int, tuple[int, int]],
) -> _Judgement:
    """The rules applied to one participant's counts (no queries)."""
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


def _evaluate(
    edition: Edition,
    registration: Registration,
    tally: AttendanceTally,
    mandatory: dict[int, dict[int, tuple[int, int]]],
    certificate: Certificate | None,
) -> Eligibility:
    chosen = {em.id for em in registration.modules} if edition.module_choice else None
    judged = _judge(edition, tally, chosen, mandatory.get(registration.id, {}))
    needed, attendance_ok = judged.needed, judged.attendance_ok
    reasons = []
    if tally.planned == 0:
        reasons.append(_("no sessions planned"))
    elif not attendance_ok:
        reasons.append(
            _(
                "attended %(credited)d of %(planned)d sessions, needs %(needed)d",
                credited=tally.credited,
                planned=tally.planned,
                needed=needed,
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
    if not attendance_ok and judged.can_reach_attendance and tally.remaining:
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
    return Eligibility(
        registration=registration,
        tally=tally,
        needed=needed,
        attendance_ok=attendance_ok,
        missed_mandatory=[em.module.name for em in judged.missed],
        can_still_reach=judged.can_still_reach,
        reasons=reasons,
        certificate=certificate,
    )


# --------------------------------------------------------------------------------------------
# Exceptions and exclusions


def _edition_registration(edition: Edition, registration_id: int) -> Registration:
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
    registration = _edition_registration(edition, registration_id)
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


# --------------------------------------------------------------------------------------------
# Issuing


def current_certificate(registration: Registration) -> Certificate | None:
    return db.session.scalar(
        sa.select(Certificate).where(
            Certificate.registration_id == registration.id, Certificate.superseded_at.is_(None)
        )
    )


def storage_dir() -> Path:
    path = Path(current_app.config["STORAGE_DIR"]) / "certificates"
    path.mkdir(parents=True, exist_ok=True)
    return path


def pdf_path(certificate: Certificate) -> Path:
    return storage_dir() / certificate.pdf_name


def make_serial(edition: Edition, registration: Registration, version: int) -> str:
    serial = f"{edition.start_date.year}-{edition.id:04d}-{registration.id:05d}"
    return serial if version == 1 else f"{serial}-{version}"


def _modules_attended(registration: Registration, edition: Edition) -> list[dict]:
    """Modules with the hours of the sessions credited to the participant."""
    credited_statuses = {AttendanceStatus.PRESENT, AttendanceStatus.LATE}
    if edition.excused_counts_as_attended:
        credited_statuses.add(AttendanceStatus.EXCUSED)
    rows = db.session.execute(
        sa.select(Session.edition_module_id, Session.starts_at, Session.ends_at)
        .join(Attendance, Attendance.session_id == Session.id)
        .where(
            Attendance.registration_id == registration.id,
            Attendance.status.in_(credited_statuses),
        )
    ).all()
    hours: dict[int, float] = defaultdict(float)
    for em_id, starts_at, ends_at in rows:
        hours[em_id] += (ends_at - starts_at).total_seconds() / 3600
    return [
        {"name": em.module.name, "hours": round(hours[em.id], 1)}
        for em in edition.edition_modules
        if hours.get(em.id)
    ]


def certificate_languages(edition: Edition, user: User) -> list[str]:
    """The languages of a certificate: English, then the edition's second language if any.

    "participant" means the holder's saved language; English only when that is English (or
    unknown, e.g. after the account was anonymised).
    """
    choice = edition.certificate_language
    second = user.preferred_language if choice == CERTIFICATE_PARTICIPANT_LANGUAGE else choice
    if second == DEFAULT_LANGUAGE or not is_supported(second):
        return [DEFAULT_LANGUAGE]
    return [DEFAULT_LANGUAGE, second]


def _place(edition: Edition) -> str:
    if edition.format == EditionFormat.ONLINE:
        return _("Online")
    return edition.venue or _("In person")


def _texts_in(tag: str, edition: Edition, issued_on: date) -> dict:
    """The certificate's words that depend on the language, written in language `tag`."""
    with in_language(tag):
        return {
            "language": tag,
            "kind": edition.kind.label,
            "format": edition.format.label,
            "place": _place(edition),
            "dates": fmt_date_range(edition.start_date, edition.end_date),
            "issued_on_text": fmt_date(issued_on),
        }


def build_snapshot(
    registration: Registration,
    eligibility: Eligibility,
    serial: str,
    code: str,
    issued_on: date,
) -> dict:
    """Everything the certificate states, as plain values frozen at issue time.

    English always; `languages` lists the certificate's languages and `second` holds the
    words of the second language of a bilingual certificate (None when English only).
    """
    edition = registration.edition
    modules = _modules_attended(registration, edition)
    base_url = current_app.config["BASE_URL"].rstrip("/")
    languages = certificate_languages(edition, registration.user)
    english = _texts_in(DEFAULT_LANGUAGE, edition, issued_on)
    return {
        "school_name": current_app.config["SCHOOL_NAME"],
        "name": registration.user.full_name,
        "edition_title": edition.title,
        "edition_slug": edition.slug,
        "kind": english["kind"],
        "format": english["format"],
        "start_date": edition.start_date.isoformat(),
        "end_date": edition.end_date.isoformat(),
        "dates": english["dates"],
        "place": english["place"],
        "modules": modules,
        "total_hours": round(sum(m["hours"] for m in modules), 1),
        "attendance_percent": round(eligibility.tally.percent)
        if edition.show_attendance_on_certificate
        else None,
        "sessions_attended": eligibility.tally.credited,
        "sessions_planned": eligibility.tally.planned,
        "threshold": edition.certificate_threshold,
        "by_exception": not eligibility.meets_rules,
        "signatories": [
            {
                "name": s.get("name", ""),
                "title": s.get("title", ""),
                "signature": s.get("signature", ""),
            }
            for s in (edition.signatories or [])
        ],
        "issued_on": issued_on.isoformat(),
        "issued_on_text": english["issued_on_text"],
        "languages": languages,
        "second": _texts_in(languages[1], edition, issued_on) if len(languages) > 1 else None,
        "serial": serial,
        "verification_code": code,
        "verify_url": f"{base_url}/verify/{code}",
        "verify_base": base_url.split("://", 1)[-1] + "/verify",
    }


def _write_atomically(path: Path, content: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: never a half-written PDF."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(content)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _create_certificate(
    registration: Registration,
    eligibility: Eligibility,
    actor_id: int | None,
    version: int,
    now: datetime,
) -> Certificate:
    """Render the PDF and write it (temporary file, then rename); the row is not added yet.

    The file name carries the verification code, so two runs racing for the same registration
    never overwrite each other's file: the loser's file is removed when its row is refused.
    """
    edition = registration.edition
    serial = make_serial(edition, registration, version)
    code = codes.new_code()
    snapshot = build_snapshot(registration, eligibility, serial, code, now.date())
    content = rendering.render_certificate(snapshot)
    certificate = Certificate(
        registration_id=registration.id,
        serial=serial,
        verification_code=code,
        issued_at=now,
        issued_by_id=actor_id,
        snapshot=snapshot,
        pdf_name=f"{serial}-{code.replace('-', '')}.pdf",
        sha256=hashlib.sha256(content).hexdigest(),
    )
    _write_atomically(storage_dir() / certificate.pdf_name, content)
    return certificate


def _notify_holder(certificate: Certificate) -> None:
    user = certificate.registration.user
    if not user.email or user.anonymised_at:
        return
    base_url = current_app.config["BASE_URL"].rstrip("/")
    queue_email(
        user,
        "certificate_issued",
        _l("Your certificate: %(title)s", title=certificate.snapshot["edition_title"]),
        name=user.full_name,
        edition_title=certificate.snapshot["edition_title"],
        serial=certificate.serial,
        download_url=f"{base_url}/me/certificates",
        verify_url=certificate.snapshot["verify_url"],
    )


def prepare_certificate(
    registration: Registration, actor_id: int | None, now: datetime | None = None
) -> dict | None:
    """Check eligibility, snapshot, render and store the PDF; None if one exists already.

    Returns the certificate's column values (plain, picklable): a worker process can prepare
    while one writer records them (see record_certificate).
    """
    if current_certificate(registration) is not None:
        return None
    now = now or utcnow()
    eligibility = evaluate_registration(registration, now)
    if registration.certificate_override == CertificateOverride.EXCLUDED:
        raise CertificateError(_("This participant is excluded from certificates."), "excluded")
    if not eligibility.eligible:
        raise CertificateError(
            _("Not eligible: %(reasons)s", reasons="; ".join(eligibility.reasons)), "not_eligible"
        )
    previous = db.session.scalar(
        sa.select(sa.func.count(Certificate.id)).where(
            Certificate.registration_id == registration.id
        )
    )
    certificate = _create_certificate(registration, eligibility, actor_id, previous + 1, now)
    return {
        column: getattr(certificate, column)
        for column in (
            "registration_id",
            "serial",
            "verification_code",
            "issued_at",
            "issued_by_id",
            "snapshot",
            "pdf_name",
            "sha256",
        )
    }


def record_certificate(prepared: dict, actor: User | None) -> tuple[Certificate, bool]:
    """Add a prepared certificate with its audit event and email, in one commit.

    If the registration got a current certificate meanwhile, that one stands and the prepared
    file is removed.
    """
    registration = db.session.get(Registration, prepared["registration_id"])
    certificate = Certificate(**prepared)
    certificate.registration = registration
    db.session.add(certificate)
    audit.record(
        "certificate.issued",
        target=certificate,
        actor=actor,
        edition_id=registration.edition_id,
        summary=_(
            "Certificate %(serial)s issued to %(name)s",
            serial=certificate.serial,
            name=prepared["snapshot"]["name"],
        ),
        reason=_("by exception") if prepared["snapshot"].get("by_exception") else "",
    )
    _notify_holder(certificate)
    try:
        credentials.issue_for(certificate)  # flushes: a race for the registration fails here
        db.session.commit()
    except IntegrityError:
        # Someone else issued it at the same moment: theirs stands.
        db.session.rollback()
        (storage_dir() / prepared["pdf_name"]).unlink(missing_ok=True)
        existing = current_certificate(registration)
        if existing is None:
            raise
        return existing, False
    return certificate, True


def issue_for_registration(
    registration: Registration, actor: User | None, now: datetime | None = None
) -> tuple[Certificate, bool]:
    """Issue the registration's certificate unless it has one; return (certificate, created)."""
    prepared = prepare_certificate(registration, actor.id if actor else None, now)
    if prepared is None:
        return current_certificate(registration), False
    return record_certificate(prepared, actor)


def issue_one(edition: Edition, registration_id: int, actor: User) -> Certificate:
    """Staff issue one participant's certificate (idempotent)."""
    registration = _edition_registration(edition, registration_id)
    certificate, _created = issue_for_registration(registration, actor)
    return certificate


def reissue(certificate: Certificate, actor: User, reason: str) -> Certificate:
    """Issue a corrected certificate that supersedes `certificate` (still verifiable)."""
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise CertificateError(_("Write why the certificate is reissued."), "reason_required")
    if certificate.superseded_at is not None:
        raise CertificateError(
            _("This certificate was already superseded; reissue the current one."), "superseded"
        )
    registration = certificate.registration
    if registration.certificate_override == CertificateOverride.EXCLUDED:
        raise CertificateError(_("This participant is excluded from certificates."), "excluded")
    now = utcnow()
    eligibility = evaluate_registration(registration, now)
    version = (
        db.session.scalar(
            sa.select(sa.func.count(Certificate.id)).where(
                Certificate.registration_id == registration.id
            )
        )
        + 1
    )
    new = _create_certificate(registration, eligibility, actor.id, version, now)
    new.registration = registration
    certificate.superseded_at = now
    db.session.flush()  # free the "one current certificate" slot before adding the new one
    db.session.add(new)
    db.session.flush()
    certificate.superseded_by_id = new.id
    audit.record(
        "certificate.reissued",
        target=new,
        actor=actor,
        edition_id=registration.edition_id,
        summary=_(
            "Certificate %(old)s superseded by %(new)s",
            old=certificate.serial,
            new=new.serial,
        ),
        reason=reason,
        before={"serial": certificate.serial, "snapshot": certificate.snapshot},
        after={"serial": new.serial, "snapshot": new.snapshot},
    )
    _notify_holder(new)
    credentials.issue_for(new)
    credentials.revoke_for(certificate, "superseded")
    db.session.commit()
    return new


def revoke(certificate: Certificate, actor: User, category: str, reason: str) -> Certificate:
    """Revoke with a public category and a written (internal) reason."""
    if category not in REVOKE_CATEGORIES:
        raise CertificateError(_("Choose why the certificate is revoked."), "bad_category")
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise CertificateError(_("Write why the certificate is revoked."), "reason_required")
    if certificate.revoked_at is not None:
        raise CertificateError(_("This certificate is already revoked."), "already_revoked", 409)
    certificate.revoked_at = utcnow()
    certificate.revoked_by_id = actor.id
    certificate.revoke_category = category
    certificate.revoke_reason = reason
    audit.record(
        "certificate.revoked",
        target=certificate,
        actor=actor,
        edition_id=certificate.registration.edition_id,
        summary=_(
            "Certificate %(serial)s of %(name)s revoked",
            serial=certificate.serial,
            name=certificate.snapshot.get("name", ""),
        ),
        reason=f"{REVOKE_CATEGORIES[category]}: {reason}",
    )
    credentials.revoke_for(certificate, category)
    db.session.commit()
    return certificate


# --------------------------------------------------------------------------------------------
# Bulk issuing with progress


def sessions_to_come(edition: Edition, now: datetime | None = None) -> int:
    """Sessions of the edition not over yet: a certificate issued now misses their hours."""
    return db.session.scalar(
        sa.select(sa.func.count(Session.id))
        .join(EditionModule, EditionModule.id == Session.edition_module_id)
        .where(EditionModule.edition_id == edition.id, Session.ends_at > (now or utcnow()))
    )


def missing_registration_ids(edition: Edition) -> list[int]:
    """Eligible participants of `edition` who have no current certificate yet (whole edition)."""
    return edition_standing(edition).missing_ids


def running_batch(edition: Edition) -> CertificateBatch | None:
    return db.session.scalar(
        sa.select(CertificateBatch)
        .where(
            CertificateBatch.edition_id == edition.id,
            CertificateBatch.status.in_(
                [CertificateBatchStatus.QUEUED, CertificateBatchStatus.RUNNING]
            ),
        )
        .order_by(CertificateBatch.id.desc())
        .limit(1)
    )


# A run whose progress (a heartbeat after every chunk of 20) has not moved for this long was
# interrupted (worker killed, server restart), wherever it ran.
BATCH_STALE_AFTER = timedelta(minutes=2)


def this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_batch(batch: CertificateBatch) -> None:
    """Mark the run as running in this process (the caller commits)."""
    batch.status = CertificateBatchStatus.RUNNING
    batch.started_at = utcnow()
    batch.worker = this_worker()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user
        return True
    return True


def batch_worker_gone(batch: CertificateBatch) -> bool:
    """True when a run shown as running has nobody running it any more: its RQ job failed or
    vanished, its process on this host has exited, or its heartbeat stopped."""
    from schoolmgr.certificates import jobs

    if not batch.is_running:
        return False
    if batch.job_id:
        status = jobs.job_status(batch.job_id)
        if status in ("failed", "stopped", "canceled", "missing"):
            return True
        if status in ("queued", "deferred", "scheduled"):
            return False  # waiting for a worker is not being gone
    host, _, pid = batch.worker.rpartition(":")
    if host == socket.gethostname() and pid.isdigit() and not _process_alive(int(pid)):
        return True
    return batch.updated_at < utcnow() - BATCH_STALE_AFTER


@dataclass(frozen=True)
class BatchProgress:
    """What the run pages show: certificates really issued (counted, not the run's counter,
    which a killed run never updated), and whether its worker is gone."""

    batch: CertificateBatch
    issued: int
    worker_gone: bool

    @property
    def percent(self) -> int:
        total = self.batch.total
        return (
            100 if not total else min(100, round(100 * (self.issued + self.batch.failed) / total))
        )


def batch_progress(batch: CertificateBatch) -> BatchProgress:
    """The run's certificates: those of its edition issued while it was (or is) the last run."""
    query = (
        sa.select(sa.func.count(Certificate.id))
        .join(Registration, Registration.id == Certificate.registration_id)
        .where(
            Registration.edition_id == batch.edition_id, Certificate.issued_at >= batch.created_at
        )
    )
    if batch.finished_at is not None:
        query = query.where(Certificate.issued_at <= batch.finished_at)
    return BatchProgress(batch, db.session.scalar(query), batch_worker_gone(batch))


def start_batch(edition: Edition, actor: User | None, take_over: bool = False) -> CertificateBatch:
    """Record a bulk issue of every missing certificate of `edition` (the caller runs it).

    A run whose worker is alive blocks a second one; a run whose worker is gone (or any, with
    `take_over`) is marked failed, and the new run resumes where it stopped.
    """
    running = running_batch(edition)
    if running is not None:
        if not take_over and not batch_worker_gone(running):
            raise CertificateError(
                _("Certificates of this edition are being issued already."), "batch_running", 409
            )
        running.status = CertificateBatchStatus.FAILED
        running.finished_at = utcnow()
        running.failures = [
            *running.failures,
            {
                "registration_id": None,
                "name": "",
                "reason": _("Interrupted; resumed by a new run."),
            },
        ]
    batch = CertificateBatch(
        edition=edition,
        started_by_id=actor.id if actor else None,
        total=len(missing_registration_ids(edition)),
        failures=[],
    )
    db.session.add(batch)
    db.session.commit()
    return batch


def _failure(registration_id: int, exc: Exception) -> dict:
    db.session.rollback()
    registration = db.session.get(Registration, registration_id)
    if not isinstance(exc, DomainError):
        current_app.logger.error(
            "Certificate for registration %s failed", registration_id, exc_info=exc
        )
    return {
        "registration_id": registration_id,
        "name": registration.user.full_name if registration else "",
        "reason": exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}",
    }


def issue_chunk(registration_ids: list[int], actor_id: int | None) -> tuple[int, list[dict]]:
    """Issue the certificates of some registrations; return (issued, failures)."""
    actor = db.session.get(User, actor_id) if actor_id else None
    done, failures = 0, []
    for registration_id in registration_ids:
        try:
            issue_for_registration(db.session.get(Registration, registration_id), actor)
        except Exception as exc:  # one bad certificate must not stop the others
            failures.append(_failure(registration_id, exc))
        else:
            done += 1
    return done, failures


def prepare_chunk(
    registration_ids: list[int], actor_id: int | None
) -> tuple[list[dict], int, list[dict]]:
    """Worker side of a parallel run: (prepared certificates, already issued, failures)."""
    prepared, existing, failures = [], 0, []
    for registration_id in registration_ids:
        try:
            values = prepare_certificate(db.session.get(Registration, registration_id), actor_id)
        except Exception as exc:  # one bad certificate must not stop the others
            failures.append(_failure(registration_id, exc))
            continue
        if values is None:
            existing += 1
        else:
            prepared.append(values)
    db.session.rollback()  # end the read transaction before handing the chunk over
    return prepared, existing, failures


def record_chunk(prepared: list[dict], actor_id: int | None) -> tuple[int, list[dict]]:
    """Writer side of a parallel run: record what the workers prepared; (issued, failures)."""
    actor = db.session.get(User, actor_id) if actor_id else None
    done, failures = 0, []
    for values in prepared:
        try:
            record_certificate(values, actor)
        except Exception as exc:
            failures.append(_failure(values["registration_id"], exc))
        else:
            done += 1
    return done, failures


def run_batch(
    batch_id: int, processes: int | None = None, chunk_size: int = 20
) -> CertificateBatch:
    """Issue what is missing for the batch's edition, recording progress after every chunk.

    With `processes` > 1 the chunks are rendered by that many worker processes, each with its
    own font configuration and parsed stylesheet (see schoolmgr.certificates.jobs).
    """
    from schoolmgr.certificates import jobs

    batch = db.session.get(CertificateBatch, batch_id)
    claim_batch(batch)
    ids = missing_registration_ids(batch.edition)
    batch.total = batch.done + batch.failed + len(ids)
    db.session.commit()
    chunks = [ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)]
    processes = processes or current_app.config.get("CERTIFICATE_PROCESSES", 1)
    try:
        for done, failures in jobs.map_chunks(chunks, batch.started_by_id, processes):
            batch = db.session.get(CertificateBatch, batch_id)
            batch.done += done
            batch.failed += len(failures)
            batch.failures = [*batch.failures, *failures][:500]
            db.session.commit()
    except Exception as exc:
        db.session.rollback()
        batch = db.session.get(CertificateBatch, batch_id)
        batch.status = CertificateBatchStatus.FAILED
        batch.failures = [
            *batch.failures,
            {"registration_id": None, "name": "", "reason": str(exc)},
        ]
        batch.finished_at = utcnow()
        db.session.commit()
        raise
    batch = db.session.get(CertificateBatch, batch_id)
    batch.status = CertificateBatchStatus.FINISHED
    batch.finished_at = utcnow()
    db.session.commit()
    return batch


def latest_batch(edition: Edition) -> CertificateBatch | None:
    return db.session.scalar(
        sa.select(CertificateBatch)
        .where(CertificateBatch.edition_id == edition.id)
        .order_by(CertificateBatch.id.desc())
        .limit(1)
    )


def get_batch(edition: Edition, batch_id: int) -> CertificateBatch:
    batch = db.session.get(CertificateBatch, batch_id)
    if batch is None or batch.edition_id != edition.id:
        raise CertificateError(_("No such issuing run."), "not_found", 404)
    return batch


# --------------------------------------------------------------------------------------------
# Reading


def edition_by_slug(slug: str) -> Edition:
    edition = edition_with_modules(slug)
    if edition is None:
        raise CertificateError(_("No such edition."), "not_found", 404)
    return edition


def edition_certificates(edition: Edition, current_only: bool = False) -> sa.Select:
    query = (
        sa.select(Certificate)
        .join(Registration, Registration.id == Certificate.registration_id)
        .where(Registration.edition_id == edition.id)
        .options(selectinload(Certificate.registration).selectinload(Registration.user))
        .order_by(Certificate.serial)
    )
    if current_only:
        query = query.where(Certificate.superseded_at.is_(None))
    return query


def certificate_for_staff(certificate_id: int) -> Certificate:
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None:
        raise CertificateError(_("No such certificate."), "not_found", 404)
    return certificate


def certificates_of(user: User) -> list[Certificate]:
    """A participant's certificates, current ones first, newest first."""
    return list(
        db.session.scalars(
            sa.select(Certificate)
            .join(Registration, Registration.id == Certificate.registration_id)
            .where(Registration.user_id == user.id)
            .order_by(Certificate.superseded_at.is_not(None), Certificate.issued_at.desc())
        )
    )


def certificate_of(user: User, certificate_id: int) -> Certificate:
    """The user's own certificate; anyone else's answers 404."""
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or certificate.registration.user_id != user.id:
        raise CertificateError(_("No such certificate."), "not_found", 404)
    return certificate


def read_pdf(certificate: Certificate) -> Path:
    path = pdf_path(certificate)
    if not path.is_file():
        raise CertificateError(_("The certificate file is missing."), "file_missing", 404)
    return path


def download_name(certificate: Certificate) -> str:
    name = fold(certificate.snapshot.get("name", "")).replace(" ", "-") or "certificate"
    return f"certificate-{certificate.serial}-{name}.pdf"


def build_zip(edition: Edition) -> tempfile.SpooledTemporaryFile:
    """All current certificates of an edition in one ZIP (PDFs are stored, not recompressed)."""
    spool = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115 (returned)
    certificates = db.session.scalars(edition_certificates(edition, current_only=True)).all()
    if not certificates:
        raise CertificateError(_("No certificates have been issued yet."), "none_issued", 404)
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_STORED) as archive:
        for certificate in certificates:
            path = pdf_path(certificate)
            if path.is_file():
                archive.write(path, download_name(certificate))
    spool.seek(0)
    return spool


# --------------------------------------------------------------------------------------------
# Verification (public: no personal data beyond what the certificate prints)


def find_by_code(text: str) -> Certificate | None:
    code = codes.normalise(text)
    if code is None:
        return None
    return db.session.scalar(sa.select(Certificate).where(Certificate.verification_code == code))


def find_by_serial(text: str) -> Certificate | None:
    """The certificate with this serial ("2026-0006-00100"), typed with or without separators."""
    digits = codes.serial_digits(text)
    if digits is None:
        return None
    return db.session.scalar(
        sa.select(Certificate).where(sa.func.replace(Certificate.serial, "-", "") == digits)
    )


def find_by_code_or_serial(text: str) -> tuple[Certificate | None, bool]:
    """The certificate a verifier typed, by code or by serial; True when it was the serial."""
    certificate = find_by_code(text)
    if certificate is not None:
        return certificate, False
    certificate = find_by_serial(text)
    return certificate, certificate is not None


def public_facts(certificate: Certificate) -> dict:
    """What the certificate says and its status, for the verify page and its JSON."""
    s = certificate.snapshot
    facts = {
        "status": certificate.status,
        "serial": certificate.serial,
        "verification_code": certificate.verification_code,
        "holder": s.get("name"),
        "edition": s.get("edition_title"),
        "kind": s.get("kind"),
        "format": s.get("format"),
        "start_date": s.get("start_date"),
        "end_date": s.get("end_date"),
        "dates": s.get("dates"),
        "place": s.get("place"),
        "modules": s.get("modules", []),
        "total_hours": s.get("total_hours"),
        "issued_on": s.get("issued_on"),
        "issuer": s.get("school_name"),
        # Certificates issued before bilingual certificates existed are in English.
        "languages": s.get("languages", [DEFAULT_LANGUAGE]),
        "revoked_on": None,
        "revoked_reason": None,
        "superseded_by": None,
    }
    if certificate.revoked_at:
        facts["revoked_on"] = certificate.revoked_at.date().isoformat()
        facts["revoked_reason"] = str(REVOKE_CATEGORIES.get(certificate.revoke_category, ""))
    if certificate.superseded_by is not None:
        facts["superseded_by"] = certificate.superseded_by.serial
    return facts


def match_upload(certificate: Certificate | None, content: bytes) -> Certificate | None:
    """The issued certificate this exact file is, if any (compared by SHA-256)."""
    digest = hashlib.sha256(content).hexdigest()
    if certificate is not None:
        return certificate if certificate.sha256 == digest else None
    return db.session.scalar(sa.select(Certificate).where(Certificate.sha256 == digest).limit(1))
