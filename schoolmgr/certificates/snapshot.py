"""What a certificate states: its serial and every value printed on it, frozen at issue time
(English, plus the edition's second language on bilingual certificates)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import sqlalchemy as sa
from flask import current_app

from schoolmgr.certificates.eligibility import Eligibility
from schoolmgr.extensions import db
from schoolmgr.i18n import DEFAULT_LANGUAGE, in_language, is_supported
from schoolmgr.i18n import gettext as _
from schoolmgr.models import (
    Attendance,
    Edition,
    EditionFormat,
    Registration,
    Session,
    User,
    credited_statuses,
)
from schoolmgr.models.edition import CERTIFICATE_PARTICIPANT_LANGUAGE
from schoolmgr.timeutils import fmt_date, fmt_date_range
from schoolmgr.urls import base_url as site_base_url


def make_serial(edition: Edition, registration: Registration, version: int) -> str:
    serial = f"{edition.start_date.year}-{edition.id:04d}-{registration.id:05d}"
    return serial if version == 1 else f"{serial}-{version}"


def _modules_attended(registration: Registration, edition: Edition) -> list[dict]:
    """Modules with the hours of the sessions credited to the participant."""
    rows = db.session.execute(
        sa.select(Session.edition_module_id, Session.starts_at, Session.ends_at)
        .join(Attendance, Attendance.session_id == Session.id)
        .where(
            Attendance.registration_id == registration.id,
            Attendance.status.in_(credited_statuses(edition.excused_counts_as_attended)),
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
    base_url = site_base_url()
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
