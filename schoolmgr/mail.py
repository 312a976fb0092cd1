"""Email: queued in the database with the change that causes it, delivered after the request.

A message is first an OutboundEmail row, committed together with the registration (or other
change) it reports, so a failing mail server never loses either. Delivery happens after the
request, and `flask mail send` retries what is still pending, with growing delays.
"""

import logging
import smtplib
from collections.abc import Iterable
from contextlib import nullcontext
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, current_app, g, render_template

from schoolmgr.extensions import db
from schoolmgr.i18n import in_language
from schoolmgr.materials.uploads import storage_key
from schoolmgr.models import EmailAttachment, EmailStatus, OutboundEmail, User, utcnow
from schoolmgr.storage import get_storage
from schoolmgr.urls import base_url

log = logging.getLogger(__name__)

# Headers stay UTF-8 and unfolded (up to RFC 5322's 998 characters): Python's folding of
# RFC 2047 encoded words drops or doubles spaces next to non-ASCII words ("Governance  Čačak").
MESSAGE_POLICY = policy.SMTPUTF8.clone(max_line_length=998)
# For an SMTP server that does not offer SMTPUTF8: encoded words, still never folded.
ASCII_POLICY = policy.SMTP.clone(max_line_length=998)


def queue_email(
    recipient: User | str,
    template: str,
    subject,
    *,
    language: str | None = None,
    attachments: Iterable[tuple[str, str, bytes]] = (),
    material_ids: Iterable[int] = (),
    **context,
) -> OutboundEmail:
    """Render templates/email/<template>.txt and .html and queue the message (caller commits).

    Sent to a user, the message is written in the user's saved language; give `subject` as a
    lazy string (`_l("...", name=...)`) so that it is translated into that language too.
    `attachments` are (filename, media type, bytes); `material_ids` name stored material files,
    read when the message is sent (so a large file is stored once, not once per recipient).
    """
    if isinstance(recipient, User):
        language = language or recipient.preferred_language
        recipient = recipient.email
    context.setdefault("school_name", current_app.config["SCHOOL_NAME"])
    context.setdefault("base_url", base_url())
    with in_language(language) if language else nullcontext():
        subject = str(subject)
        email = OutboundEmail(
            recipient=recipient,
            subject=subject,
            template=template,
            body_text=render_template(f"email/{template}.txt", subject=subject, **context),
            body_html=render_template(f"email/{template}.html", subject=subject, **context),
        )
    for filename, media_type, content in attachments:
        email.attachments.append(
            EmailAttachment(filename=filename, media_type=media_type, content=content)
        )
    for material_id in material_ids:
        email.attachments.append(
            EmailAttachment(filename="", media_type="", material_id=material_id)
        )
    db.session.add(email)
    g.mail_queued = True
    return email


def deliver_pending(limit: int = 100) -> tuple[int, int]:
    """Send queued messages that are due; return (sent, failed this round).

    Each message is claimed with a row lock that other deliverers skip (PostgreSQL), so two
    workers delivering after their requests at the same moment never send one message twice.
    """
    sent = failed = 0
    for _ in range(limit):
        now = utcnow()
        email = db.session.scalars(
            sa.select(OutboundEmail)
            .where(
                OutboundEmail.status == EmailStatus.PENDING, OutboundEmail.next_attempt_at <= now
            )
            .order_by(OutboundEmail.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if email is None:
            break
        try:
            _send(email)
        except Exception as exc:  # any transport failure: keep the message and retry later
            failed += 1
            email.attempts += 1
            email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if email.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
                email.status = EmailStatus.FAILED
            else:
                email.next_attempt_at = now + timedelta(minutes=2**email.attempts)
            log.warning("Email %s to %s failed: %s", email.id, email.recipient, email.last_error)
        else:
            sent += 1
            email.attempts += 1
            email.status = EmailStatus.SENT
            email.sent_at = now
        db.session.commit()
    return sent, failed


def _build_message(email: OutboundEmail) -> EmailMessage:
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = email.recipient
    message["Subject"] = email.subject
    message.set_content(email.body_text)
    if email.body_html:
        message.add_alternative(email.body_html, subtype="html")
    for attachment in email.attachments:
        filename, media_type, content = _attachment_parts(attachment)
        maintype, _, subtype = media_type.partition("/")
        message.add_attachment(
            content, maintype=maintype, subtype=subtype or "octet-stream", filename=filename
        )
    return message


def _attachment_parts(attachment: EmailAttachment) -> tuple[str, str, bytes]:
    if attachment.content is not None:
        return attachment.filename, attachment.media_type, attachment.content
    material = attachment.material
    name = material.original_name or material.title
    media_type = material.media_type or "application/octet-stream"
    return name, media_type, get_storage().read_bytes(storage_key(material))


def _send(email: OutboundEmail) -> None:
    backend = current_app.config["MAIL_BACKEND"]
    message = _build_message(email)
    if backend == "memory":
        current_app.extensions.setdefault("outbox", []).append(message)
    elif backend == "outbox":
        folder = Path(current_app.config["MAIL_OUTBOX_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{email.id:06d}-{email.template or 'message'}.eml").write_bytes(bytes(message))
        log.info("Email to %s written to %s: %s", email.recipient, folder, email.subject)
    elif backend == "smtp":
        config = current_app.config
        smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
        with smtp_class(
            config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]
        ) as smtp:
            if config["MAIL_USE_TLS"]:
                smtp.starttls()
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            smtp.ehlo_or_helo_if_needed()
            if smtp.has_extn("smtputf8"):
                smtp.send_message(message, mail_options=("SMTPUTF8", "BODY=8BITMIME"))
            else:
                smtp.sendmail(
                    message["From"], [email.recipient], message.as_bytes(policy=ASCII_POLICY)
                )
    else:
        raise RuntimeError(f"Unknown MAIL_BACKEND {backend!r}")


def outbox(app: Flask | None = None) -> list[EmailMessage]:
    """Messages delivered by the in-memory backend (tests)."""
    return (app or current_app).extensions.setdefault("outbox", [])


def init_app(app: Flask) -> None:
    @app.after_request
    def _deliver_after_request(response):
        if g.pop("mail_queued", False):
            try:
                deliver_pending()
            except Exception:  # delivery must never break the response
                log.exception("Delivering queued email failed")
                db.session.rollback()
        return response
