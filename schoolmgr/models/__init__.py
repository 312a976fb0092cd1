"""All models, imported here so that Alembic and the app see the whole schema."""

from schoolmgr.models.attendance import (
    ATTENDANCE_STATUS_LABELS,
    Attendance,
    AttendanceMethod,
    AttendanceStatus,
)
from schoolmgr.models.audit import AuditEvent
from schoolmgr.models.certificate import Certificate, CertificateBatch, CertificateBatchStatus
from schoolmgr.models.edition import (
    Edition,
    EditionFormat,
    EditionKind,
    EditionModule,
    EditionSeatQuota,
    EditionStatus,
    Module,
    RegistrationMode,
    Session,
    edition_module_trainers,
)
from schoolmgr.models.email import EmailStatus, OutboundEmail
from schoolmgr.models.material import Material, MaterialKind, MaterialVisibility
from schoolmgr.models.registration import (
    CertificateOverride,
    Nomination,
    Registration,
    RegistrationStatus,
    registration_modules,
)
from schoolmgr.models.types import utcnow
from schoolmgr.models.user import (
    COUNTRY_LABELS,
    KOSOVO_FOOTNOTE,
    LANGUAGES,
    Country,
    Role,
    User,
    normalise_email,
)

__all__ = [
    "ATTENDANCE_STATUS_LABELS",
    "COUNTRY_LABELS",
    "KOSOVO_FOOTNOTE",
    "LANGUAGES",
    "Attendance",
    "AttendanceMethod",
    "AttendanceStatus",
    "AuditEvent",
    "Certificate",
    "CertificateBatch",
    "CertificateBatchStatus",
    "CertificateOverride",
    "Country",
    "Edition",
    "EditionFormat",
    "EditionKind",
    "EditionModule",
    "EditionSeatQuota",
    "EditionStatus",
    "EmailStatus",
    "Material",
    "MaterialKind",
    "MaterialVisibility",
    "Module",
    "Nomination",
    "OutboundEmail",
    "Registration",
    "RegistrationMode",
    "RegistrationStatus",
    "Role",
    "Session",
    "User",
    "edition_module_trainers",
    "normalise_email",
    "registration_modules",
    "utcnow",
]
