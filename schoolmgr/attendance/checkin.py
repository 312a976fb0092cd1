"""The participant's side of attendance: self check-in (typed code or rotating QR token) within
the session's window, and apologies sent before a session.

Every rule that can say no raises AttendanceError with a stable `code`.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from schoolmgr.attendance.errors import AttendanceError
from schoolmgr.attendance.roster import registration_for_session, set_mark
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.models import (
    ATTENDED_STATUSES,
    Attendance,
    AttendanceMethod,
    AttendanceStatus,
    EditionModule,
    Session,
    User,
    utcnow,
)

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
CODE_LENGTH = 6


def normalise_code(code: str) -> str:
    return "".join(c for c in (code or "").upper() if c.isalnum())


def ensure_checkin_code(session: Session) -> str:
    """Give the session a typed check-in code if it has none yet (unique among sessions)."""
    if session.closed_at is not None:
        raise AttendanceError(
            _("This session is closed: reopen it before starting self check-in."),
            "session_closed",
        )
    if not session.checkin_code:
        while True:
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            taken = db.session.scalar(sa.select(Session.id).where(Session.checkin_code == code))
            if taken is None:
                break
        session.checkin_code = code
        db.session.commit()
    return session.checkin_code


@dataclass(frozen=True)
class CheckinWindow:
    opens_at: datetime
    late_after: datetime
    closes_at: datetime


def checkin_window(session: Session) -> CheckinWindow:
    """From CHECKIN_OPENS_MINUTES_BEFORE before the start to CHECKIN_CLOSES_MINUTES_AFTER after
    the start; check-ins after CHECKIN_LATE_AFTER_MINUTES past the start count as late."""
    config = current_app.config
    return CheckinWindow(
        opens_at=session.starts_at - timedelta(minutes=config["CHECKIN_OPENS_MINUTES_BEFORE"]),
        late_after=session.starts_at + timedelta(minutes=config["CHECKIN_LATE_AFTER_MINUTES"]),
        closes_at=session.starts_at + timedelta(minutes=config["CHECKIN_CLOSES_MINUTES_AFTER"]),
    )


def _rotation_step(now: datetime) -> int:
    return int(now.timestamp()) // current_app.config["CHECKIN_ROTATION_SECONDS"]


def _token_for_step(session: Session, step: int) -> str:
    mac = hmac.new(session.checkin_secret.encode(), f"{session.id}:{step}".encode(), "sha256")
    return base64.b32encode(mac.digest()[:10]).decode().rstrip("=")


def rotating_token(session: Session, now: datetime | None = None) -> str:
    """The token shown in the QR code right now; it changes every CHECKIN_ROTATION_SECONDS."""
    return _token_for_step(session, _rotation_step(now or utcnow()))


def token_is_fresh(session: Session, token: str, now: datetime) -> bool:
    """The current or the previous token (a scan just before the change still works)."""
    step = _rotation_step(now)
    return any(
        hmac.compare_digest(token or "", _token_for_step(session, s)) for s in (step, step - 1)
    )


@dataclass(frozen=True)
class CheckinResult:
    attendance: Attendance
    already: bool  # the participant had checked in before: nothing changed


def _check_in(user: User, session: Session, now: datetime) -> CheckinResult:
    registration = registration_for_session(user, session)
    if registration is None:
        raise AttendanceError(
            _("You are not registered for this module, so you cannot check in to its session."),
            "not_registered",
            status_code=403,
        )
    if session.closed_at is not None:
        raise AttendanceError(
            _("This session is closed; ask the trainer to record your attendance."),
            "session_closed",
            status_code=409,
        )
    window = checkin_window(session)
    if now < window.opens_at:
        raise AttendanceError(
            _(
                "Check-in has not opened yet: it opens %(minutes)d minutes before the session.",
                minutes=current_app.config["CHECKIN_OPENS_MINUTES_BEFORE"],
            ),
            "too_early",
            status_code=409,
        )
    if now > window.closes_at:
        raise AttendanceError(
            _("Check-in for this session has closed; ask the trainer to record your attendance."),
            "too_late",
            status_code=409,
        )
    existing = db.session.scalar(
        sa.select(Attendance).where(
            Attendance.session_id == session.id, Attendance.registration_id == registration.id
        )
    )
    if existing is not None and existing.status in ATTENDED_STATUSES:
        return CheckinResult(existing, already=True)
    status = AttendanceStatus.LATE if now > window.late_after else AttendanceStatus.PRESENT
    attendance = set_mark(
        session, registration.id, status, AttendanceMethod.SELF_CHECKIN, user, now, existing, ""
    )
    db.session.commit()
    return CheckinResult(attendance, already=False)


def check_in_with_code(user: User, code: str, now: datetime | None = None) -> CheckinResult:
    """Check in with the typed code shown by the trainer (valid for the whole window)."""
    now = now or utcnow()
    code = normalise_code(code)
    if not code:
        raise AttendanceError(_("Type the code shown by the trainer."), "no_code")
    sessions = list(
        db.session.scalars(
            sa.select(Session)
            .where(Session.checkin_code == code)
            .options(joinedload(Session.edition_module).joinedload(EditionModule.edition))
        )
    )
    if not sessions:
        raise AttendanceError(
            _("This code is not right. Check it against the screen and try again."),
            "wrong_code",
        )
    mine = [s for s in sessions if registration_for_session(user, s) is not None]
    return _check_in(user, mine[0] if mine else sessions[0], now)


def check_in_with_token(
    user: User, session: Session, token: str, now: datetime | None = None
) -> CheckinResult:
    """Check in through the QR code, whose token is valid for about one rotation period."""
    now = now or utcnow()
    if not token_is_fresh(session, token, now):
        raise AttendanceError(
            _(
                "This QR code has expired. Scan the code on the screen again, or type the "
                "short code instead."
            ),
            "expired_code",
        )
    return _check_in(user, session, now)


# --------------------------------------------------------------------------------------------
# Apologies


def send_apology(
    user: User, session: Session, comment: str, now: datetime | None = None
) -> Attendance:
    """Excuse oneself from a session before it starts, with a comment for the trainer."""
    now = now or utcnow()
    comment = (comment or "").strip()
    registration = registration_for_session(user, session)
    if registration is None:
        raise AttendanceError(
            _("You are not registered for this module."), "not_registered", status_code=403
        )
    if now >= session.starts_at:
        raise AttendanceError(
            _("Apologies can be sent only before the session starts."), "apology_too_late"
        )
    if not comment:
        raise AttendanceError(
            _("Tell the trainer briefly why you cannot attend."), "apology_needs_comment"
        )
    existing = db.session.scalar(
        sa.select(Attendance).where(
            Attendance.session_id == session.id, Attendance.registration_id == registration.id
        )
    )
    if existing is not None and existing.status in ATTENDED_STATUSES:
        raise AttendanceError(
            _("You have already checked in to this session."), "already_checked_in"
        )
    attendance = set_mark(
        session,
        registration.id,
        AttendanceStatus.EXCUSED,
        AttendanceMethod.APOLOGY,
        user,
        now,
        existing,
        comment[:1000],
    )
    db.session.commit()
    return attendance
