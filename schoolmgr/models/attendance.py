"""Attendance marks: one per session and registration."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from schoolmgr.extensions import db
from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.models.edition import Session
from schoolmgr.models.registration import Registration
from schoolmgr.models.types import UTCDateTime, enum_type, utcnow
from schoolmgr.models.user import User


class AttendanceStatus(enum.StrEnum):
    PRESENT = "present"
    LATE = "late"
    EXCUSED = "excused"
    ABSENT = "absent"

    @property
    def label(self) -> str:
        return str(ATTENDANCE_STATUS_LABELS[self])


ATTENDANCE_STATUS_LABELS = {
    AttendanceStatus.PRESENT: _l("Present"),
    AttendanceStatus.LATE: _l("Late"),
    AttendanceStatus.EXCUSED: _l("Excused"),
    AttendanceStatus.ABSENT: _l("Absent"),
}

# What counts as attended: there, on time or late. Everything that asks "did they attend?"
# (tallies, certificates, announcements, evaluations, reports) uses these two definitions.
ATTENDED_STATUSES = (AttendanceStatus.PRESENT, AttendanceStatus.LATE)


def credited_statuses(excused_counts_as_attended: bool) -> tuple[AttendanceStatus, ...]:
    """Marks that count in a participant's favour: attended, plus excused when the edition
    counts excused absences as attended."""
    if excused_counts_as_attended:
        return (*ATTENDED_STATUSES, AttendanceStatus.EXCUSED)
    return ATTENDED_STATUSES


class AttendanceMethod(enum.StrEnum):
    TRAINER = "trainer"
    SELF_CHECKIN = "self_checkin"
    IMPORT = "import"
    APOLOGY = "apology"


class Attendance(db.Model):
    __tablename__ = "attendances"
    __table_args__ = (sa.UniqueConstraint("session_id", "registration_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("sessions.id", ondelete="RESTRICT"))
    registration_id: Mapped[int] = mapped_column(
        sa.ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[AttendanceStatus] = mapped_column(enum_type(AttendanceStatus))
    method: Mapped[AttendanceMethod] = mapped_column(enum_type(AttendanceMethod))
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    session: Mapped[Session] = relationship()
    registration: Mapped[Registration] = relationship()
    recorded_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Attendance s={self.session_id} r={self.registration_id} {self.status}>"
