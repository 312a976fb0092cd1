"""Every kind of email keeps its subject intact once unfolded, with non-ASCII titles and names.

Python's default email policy folds RFC 2047 encoded words badly (a doubled or lost space beside
"Čačak"); messages are built with the SMTPUTF8 policy. Each message is parsed back with the
standard library's parser, as a mail client would.
"""

import smtplib
from email import message_from_bytes, policy

import pytest
from flask import current_app

from schoolmgr.extensions import db
from schoolmgr.mail import deliver_pending, queue_email
from schoolmgr.registration.emails import EMAIL_SUBJECTS

TITLE = "Seasonal School on Public Governance and Digital Transformation Čačak — Ђурђевдан 2026"
NAME = "Đorđe Jovanović Јована Љубичић"


def _subjects(edition) -> dict[str, tuple[str, str, dict]]:
    """(template, expected subject, template context) of each kind of email the app sends."""
    kinds = {}
    for template, subject in EMAIL_SUBJECTS.items():
        kinds[template] = (template, subject(edition), {"edition": edition})
    kinds["certificate_issued"] = (
        "certificate_issued",
        f"Your certificate: {TITLE}",
        {
            "name": NAME,
            "edition_title": TITLE,
            "serial": "2026-0006-00100",
            "download_url": "http://x/me/certificates",
            "verify_url": "http://x/verify/ABCD",
        },
    )
    kinds["password_reset"] = (
        "password_reset",
        "Reset your password",
        {"reset_url": "http://x/reset", "minutes": 60},
    )
    school = current_app.config["SCHOOL_NAME"]
    kinds["trainer_invitation"] = (
        "trainer_invitation",
        f"You are invited to train at the {school}",
        {"link": "http://x/accept", "days": 7, "module": "Agile", "edition": TITLE},
    )
    return kinds


KINDS = [
    "registration_received",
    "registration_accepted",
    "registration_waitlisted",
    "registration_promoted",
    "registration_rejected",
    "registration_cancelled",
    "certificate_issued",
    "password_reset",
    "trainer_invitation",
]


def _queue(app, make_edition, make_registration, make_user, kind):
    user = make_user(full_name=NAME, email="djordje@example.org")
    edition = make_edition(title=TITLE)
    registration = make_registration(user=user, edition=edition)
    with app.test_request_context():
        template, subject, context = _subjects(edition)[kind]
        queue_email(user.email, template, subject, user=user, registration=registration, **context)
    db.session.commit()
    return subject


def test_every_email_kind_is_covered():
    assert set(KINDS) >= set(EMAIL_SUBJECTS)


@pytest.mark.parametrize("kind", KINDS)
def test_unfolded_subject_of_each_email_kind(
    app, db, make_edition, make_registration, make_user, kind, tmp_path
):
    app.config.update(MAIL_BACKEND="outbox", MAIL_OUTBOX_DIR=str(tmp_path / "mail"))
    subject = _queue(app, make_edition, make_registration, make_user, kind)

    assert deliver_pending() == (1, 0)

    (eml,) = (tmp_path / "mail").glob("*.eml")
    parsed = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert str(parsed["Subject"]) == subject
    assert "  " not in str(parsed["Subject"])


class _RecordingSMTP:
    """A mail server that answers EHLO with or without SMTPUTF8 and keeps what it was sent."""

    utf8 = True
    sent: list[bytes] = []

    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def ehlo_or_helo_if_needed(self):
        pass

    def has_extn(self, name):
        return self.utf8 and name.lower() == "smtputf8"

    def send_message(self, message, mail_options=()):
        assert "SMTPUTF8" in mail_options
        self.sent.append(message.as_bytes())

    def sendmail(self, sender, recipients, data):
        data.split(b"\r\n\r\n")[0].decode("ascii")  # no SMTPUTF8: 7-bit headers
        self.sent.append(data)


@pytest.mark.parametrize("utf8", [True, False], ids=["smtputf8", "ascii-server"])
def test_subject_survives_smtp_with_and_without_smtputf8(
    app, db, monkeypatch, make_edition, make_registration, make_user, utf8
):
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=25)
    server = type("Server", (_RecordingSMTP,), {"utf8": utf8, "sent": []})
    monkeypatch.setattr(smtplib, "SMTP", server)
    subject = _queue(app, make_edition, make_registration, make_user, "registration_received")

    assert deliver_pending() == (1, 0)

    parsed = message_from_bytes(server.sent[-1], policy=policy.default)
    assert str(parsed["Subject"]) == subject
    assert str(parsed["To"]) == "djordje@example.org"
