"""The attendance area's one error type."""

from schoolmgr.errors import DomainError


class AttendanceError(DomainError):
    """An attendance rule said no; `code` is stable."""
