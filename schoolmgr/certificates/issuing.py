"""Issuing certificates (one, or the chunks of a bulk run), reissuing and revoking.

Issuing is idempotent: the database holds at most one current certificate per registration, so
running a bulk issue again (after a crash, or twice at once) only issues what is missing. Each
certificate gets its Open Badges credential in the same transaction.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import orm
from sqlalchemy.exc import IntegrityError

from schoolmgr import audit
from schoolmgr.certificates import codes, rendering
from schoolmgr.certificates.eligibility import (
    Eligibility,
    edition_registration,
    evaluate_registration,
)
from schoolmgr.certificates.errors import CertificateError
from schoolmgr.certificates.files import delete_pdf, save_pdf, uploads_overlapped
from schoolmgr.certificates.lookup import current_certificate
from schoolmgr.certificates.snapshot import build_snapshot, make_serial
from schoolmgr.credentials import services as credentials
from schoolmgr.errors import DomainError
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.mail import queue_email
from schoolmgr.models import (
    Certificate,
    CertificateOverride,
    Edition,
    EditionModule,
    Registration,
    User,
    utcnow,
)
from schoolmgr.timeutils import today
from schoolmgr.urls import base_url as site_base_url

# Public reason categories (the verify page shows these; the written reason stays internal).
REVOKE_CATEGORIES = {
    "issued_in_error": _l("Issued in error"),
    "attendance_corrected": _l("Attendance record corrected"),
    "misconduct": _l("Breach of the code of conduct"),
    "holder_request": _l("Withdrawn at the holder's request"),
    "other": _l("Other"),
}


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
    # The day it is where the edition is held: issued at 00:30 in Belgrade is the next day.
    issued_on = today(edition.tz, now=now)
    snapshot = build_snapshot(registration, eligibility, serial, code, issued_on)
    content = rendering.render_certificate(snapshot)
    certificate = Certificate(
        registration_id=registration.id,
        edition_id=registration.edition_id,
        serial=serial,
        verification_code=code,
        issued_at=now,
        issued_by_id=actor_id,
        snapshot=snapshot,
        pdf_name=f"{serial}-{code.replace('-', '')}.pdf",
        sha256=hashlib.sha256(content).hexdigest(),
    )
    save_pdf(certificate.pdf_name, content)
    return certificate


def _notify_holder(certificate: Certificate) -> None:
    user = certificate.registration.user
    if not user.email or user.anonymised_at:
        return
    base_url = site_base_url()
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
            "edition_id",
            "serial",
            "verification_code",
            "issued_at",
            "issued_by_id",
            "snapshot",
            "pdf_name",
            "sha256",
        )
    }


def _add_certificate(prepared: dict, registration: Registration, actor: User | None) -> Certificate:
    """Add a prepared certificate with its audit event and email to the session."""
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
    return certificate


def record_certificate(prepared: dict, actor: User | None) -> tuple[Certificate, bool]:
    """Add a prepared certificate with its audit event, email and credential, in one commit.

    If the registration got a current certificate meanwhile, that one stands and the prepared
    file is removed.
    """
    registration = db.session.get(Registration, prepared["registration_id"])
    try:
        # Any flush (the credential's, or loading the holder) refuses the loser of a race.
        certificate = _add_certificate(prepared, registration, actor)
        credentials.issue_for(certificate)
        db.session.commit()
    except IntegrityError:
        # Someone else issued it at the same moment: theirs stands.
        db.session.rollback()
        delete_pdf(prepared["pdf_name"])
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
    registration = edition_registration(edition, registration_id)
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
# Several at once: the chunks of a bulk run (schoolmgr.certificates.batches)


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
    prepared, existing, failures = prepare_chunk(registration_ids, actor_id)
    done, record_failures = record_chunk(prepared, actor_id)
    return done + existing, failures + record_failures


def prepare_chunk(
    registration_ids: list[int], actor_id: int | None
) -> tuple[list[dict], int, list[dict]]:
    """Worker side of a parallel run: (prepared certificates, already issued, failures)."""
    prepared, existing, failures = [], 0, []
    with uploads_overlapped() as uploads:
        for registration_id in registration_ids:
            try:
                values = prepare_certificate(
                    db.session.get(Registration, registration_id), actor_id
                )
            except Exception as exc:  # one bad certificate must not stop the others
                failures.append(_failure(registration_id, exc))
                continue
            if values is None:
                existing += 1
            else:
                prepared.append(values)
        failed_uploads = uploads.wait() if uploads else {}
    db.session.rollback()  # end the read transaction before handing the chunk over
    for values in [v for v in prepared if v["pdf_name"] in failed_uploads]:
        prepared.remove(values)
        failures.append(_failure(values["registration_id"], failed_uploads[values["pdf_name"]]))
    return prepared, existing, failures


def _registrations_to_record(registration_ids: list[int]) -> dict[int, Registration]:
    """The registrations with what recording reads (user, edition, its modules and sessions)."""
    rows = db.session.scalars(
        sa.select(Registration)
        .where(Registration.id.in_(registration_ids))
        .options(
            orm.joinedload(Registration.user),
            orm.joinedload(Registration.edition)
            .selectinload(Edition.edition_modules)
            .options(
                orm.joinedload(EditionModule.module), orm.selectinload(EditionModule.sessions)
            ),
        )
    )
    return {registration.id: registration for registration in rows}


def record_chunk(prepared: list[dict], actor_id: int | None) -> tuple[int, list[dict]]:
    """Record prepared certificates (the single writer of a run); return (issued, failures).

    The whole chunk goes in one transaction. If anything in it is refused (another run issued
    one of its certificates meanwhile, a rule said no), that transaction is rolled back and the
    certificates are recorded one by one, so one refusal never costs the others.
    """
    actor = db.session.get(User, actor_id) if actor_id else None
    if not prepared:
        return 0, []
    try:
        registrations = _registrations_to_record([values["registration_id"] for values in prepared])
        certificates = [
            _add_certificate(values, registrations[values["registration_id"]], actor)
            for values in prepared
        ]
        credentials.issue_for_many(certificates)  # flushes: a race fails here
        db.session.commit()
    except Exception:
        db.session.rollback()
    else:
        return len(certificates), []
    done, failures = 0, []
    for values in prepared:
        try:
            record_certificate(values, actor)
        except Exception as exc:
            failures.append(_failure(values["registration_id"], exc))
        else:
            done += 1
    return done, failures
