"""Invitation letters: an official PDF per accepted participant of an in-person edition,
addressed to their institution so it can approve the travel, with a verification code.

What a letter says is kept in its `snapshot`; it is refreshed whenever the letter is generated
again (a corrected position or institution shows up in the next download), and the
verification page shows the snapshot of the last letter generated. The code never changes.
"""

import io
import zipfile

import segno
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from schoolmgr import pdf
from schoolmgr.announcements.services import AnnouncementError
from schoolmgr.audit import record
from schoolmgr.certificates import codes
from schoolmgr.errors import rolls_back
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.models import (
    Edition,
    EditionFormat,
    InvitationLetter,
    Registration,
    RegistrationStatus,
    User,
    utcnow,
)
from schoolmgr.text import fold
from schoolmgr.timeutils import fmt_date, fmt_date_range, today
from schoolmgr.urls import site_url

TEMPLATE = "announcements/letter_pdf.html"
STYLESHEETS = ("css/letter.css",)


def letters_apply(edition: Edition) -> bool:
    """Letters are for editions people travel to."""
    return edition.format in (EditionFormat.IN_PERSON, EditionFormat.HYBRID)


@rolls_back
def save_settings(edition: Edition, *, letter_covers: str, map_url: str) -> None:
    """Save the letter's "what the school covers" text and the venue's map link."""
    map_url = (map_url or "").strip()
    if map_url and not map_url.lower().startswith(("https://", "http://")):
        raise AnnouncementError(
            _("The map link must start with https:// or http://."), "bad_map_url"
        )
    edition.letter_covers = (letter_covers or "").strip()
    edition.map_url = map_url
    record("edition.letter_settings", target=edition, edition_id=edition.id, summary=edition.slug)
    db.session.commit()


def accepted_query(edition: Edition) -> sa.Select:
    return (
        sa.select(Registration)
        .join(Registration.user)
        .where(
            Registration.edition_id == edition.id,
            Registration.status == RegistrationStatus.ACCEPTED,
        )
        .order_by(User.name_order(), Registration.id)
        .options(selectinload(Registration.user))
    )


def registration_of(edition: Edition, registration_id: int) -> Registration:
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.edition_id != edition.id:
        raise AnnouncementError(_("No such registration."), "not_found", 404)
    return registration


def own_registration(user: User, registration_id: int) -> Registration:
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.user_id != user.id:
        raise AnnouncementError(_("No such registration."), "not_found", 404)
    return registration


def _check(registration: Registration) -> None:
    if not letters_apply(registration.edition):
        raise AnnouncementError(
            _("Invitation letters are for in-person editions."), "not_in_person", 409
        )
    if registration.status != RegistrationStatus.ACCEPTED:
        raise AnnouncementError(
            _("Invitation letters are for accepted participants."), "not_accepted", 409
        )


def _snapshot(registration: Registration, code: str) -> dict:
    edition, user = registration.edition, registration.user
    issued_on = today(edition.tz)
    return {
        "school_name": current_app.config["SCHOOL_NAME"],
        "name": user.full_name,
        "position": user.position,
        "institution": user.institution,
        "country": user.country.label if user.country else "",
        "edition_title": edition.title,
        "dates": fmt_date_range(edition.start_date, edition.end_date),
        "place": edition.venue,
        "covers": edition.letter_covers,
        "issued_on": issued_on.isoformat(),
        "issued_on_text": fmt_date(issued_on),
        "verification_code": code,
        "verify_url": site_url("announcements.verify_letter", code=code),
    }


def issue(registration: Registration) -> InvitationLetter:
    """The registration's letter with a fresh snapshot (caller commits)."""
    _check(registration)
    letter = db.session.scalar(
        sa.select(InvitationLetter).where(InvitationLetter.registration_id == registration.id)
    )
    if letter is None:
        letter = InvitationLetter(registration=registration, verification_code=codes.new_code())
        db.session.add(letter)
        record(
            "letter.issued",
            target=registration,
            edition_id=registration.edition_id,
            summary=registration.user.full_name,
        )
    snapshot = _snapshot(registration, letter.verification_code)
    if letter.snapshot and {**letter.snapshot, "issued_on": "", "issued_on_text": ""} == {
        **snapshot,
        "issued_on": "",
        "issued_on_text": "",
    }:
        return letter  # nothing changed: keep the original date
    letter.snapshot = snapshot
    letter.issued_at = utcnow()
    return letter


def render(snapshot: dict) -> bytes:
    qr = segno.make(snapshot["verify_url"], error="m").svg_data_uri(
        scale=4, border=0, dark="#1f2a44"
    )
    return pdf.render_pdf(TEMPLATE, {"l": snapshot, "qr": qr}, STYLESHEETS)


def filename(registration: Registration) -> str:
    name = fold(registration.user.full_name).replace(" ", "-") or f"participant-{registration.id}"
    safe = "".join(c for c in name if c.isalnum() or c == "-")[:60]
    return f"invitation-{registration.edition.slug}-{safe}.pdf"


def letter_pdf(registration: Registration) -> tuple[bytes, str]:
    """The PDF of the registration's letter and its file name."""
    letter = issue(registration)
    db.session.commit()
    return render(letter.snapshot), filename(registration)


def build_zip(edition: Edition) -> io.BytesIO:
    """Letters of every accepted participant, in one ZIP."""
    if not letters_apply(edition):
        raise AnnouncementError(
            _("Invitation letters are for in-person editions."), "not_in_person", 409
        )
    registrations = db.session.scalars(accepted_query(edition)).all()
    if not registrations:
        raise AnnouncementError(_("Nobody is accepted yet."), "no_recipients", 409)
    letters = [issue(r) for r in registrations]
    db.session.commit()
    archive = io.BytesIO()
    used: set[str] = set()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for registration, letter in zip(registrations, letters, strict=True):
            name = filename(registration)
            if name in used:
                name = name.replace(".pdf", f"-{registration.id}.pdf")
            used.add(name)
            zf.writestr(name, render(letter.snapshot))
    archive.seek(0)
    return archive


def letter_for_code(text: str) -> InvitationLetter | None:
    code = codes.normalise(text)
    if code is None:
        return None
    return db.session.scalar(
        sa.select(InvitationLetter).where(InvitationLetter.verification_code == code)
    )
