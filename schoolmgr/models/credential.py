"""Open Badges 3.0 credentials: one signed VC-JWT per issued certificate, immutable once issued."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from schoolmgr.extensions import db
from schoolmgr.models.certificate import Certificate
from schoolmgr.models.types import UTCDateTime, utcnow


class BadgeCredential(db.Model):
    """The OpenBadgeCredential of one certificate snapshot.

    The row id is also the credential's position in the revocation status list (see
    schoolmgr.credentials.status); `revoked_at` is that position's bit.
    """

    __tablename__ = "badge_credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(
        sa.ForeignKey("certificates.id", ondelete="RESTRICT"), unique=True
    )
    # The credential's `id` (and the JWT's `jti`): urn:uuid:...
    credential_uri: Mapped[str] = mapped_column(sa.String(80), unique=True)
    # The short id of the key that signed it (the JWT header's `kid` ends with it).
    key_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    # The Compact JWS; written once, in the transaction that issues the certificate.
    jwt: Mapped[str] = mapped_column(sa.Text, default="")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # "superseded" or the certificate's public revocation category.
    revocation_reason: Mapped[str] = mapped_column(sa.String(40), default="")

    certificate: Mapped[Certificate] = relationship()

    def __repr__(self) -> str:
        return f"<BadgeCredential {self.credential_uri}>"
