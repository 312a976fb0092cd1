"""Finding certificates: an edition's, a participant's own, the current one of a registration."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from schoolmgr.certificates.errors import CertificateError
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.models import Certificate, Edition, Registration, User
from schoolmgr.public.services import edition_with_modules


def current_certificate(registration: Registration) -> Certificate | None:
    return db.session.scalar(
        sa.select(Certificate).where(
            Certificate.registration_id == registration.id, Certificate.superseded_at.is_(None)
        )
    )


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
