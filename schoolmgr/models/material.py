"""Teaching materials of an edition module: uploaded files or links, with versions."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from schoolmgr.extensions import db
from schoolmgr.models.edition import EditionModule
from schoolmgr.models.types import UTCDateTime, enum_type, utcnow
from schoolmgr.models.user import User


class MaterialKind(enum.StrEnum):
    FILE = "file"
    LINK = "link"


class MaterialVisibility(enum.StrEnum):
    PARTICIPANTS = "participants"  # accepted participants of the edition, trainers and staff
    PUBLIC = "public"


class Material(db.Model):
    """One version of a material; replacing a file adds a row and points the old one at it."""

    __tablename__ = "materials"
    __table_args__ = (
        sa.CheckConstraint(
            "(kind = 'file' AND stored_name IS NOT NULL) OR (kind = 'link' AND url <> '')",
            name="file_or_link",
        ),
        sa.CheckConstraint("size >= 0", name="size_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_module_id: Mapped[int] = mapped_column(
        sa.ForeignKey("edition_modules.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    kind: Mapped[MaterialKind] = mapped_column(enum_type(MaterialKind))
    url: Mapped[str] = mapped_column(sa.String(1000), default="")
    # Generated name under STORAGE_DIR; never derived from what the uploader called the file.
    stored_name: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    original_name: Mapped[str] = mapped_column(sa.String(255), default="")
    media_type: Mapped[str] = mapped_column(sa.String(150), default="")
    size: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(sa.String(64), default="")
    visibility: Mapped[MaterialVisibility] = mapped_column(
        enum_type(MaterialVisibility), default=MaterialVisibility.PARTICIPANTS
    )
    position: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=1)
    # Set when a newer version replaces this one; the current version has it empty.
    replaced_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("materials.id", ondelete="SET NULL"), index=True
    )
    uploaded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    edition_module: Mapped[EditionModule] = relationship()
    uploaded_by: Mapped[User | None] = relationship()
    replaced_by: Mapped["Material | None"] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<Material {self.id} {self.title!r} v{self.version}>"
