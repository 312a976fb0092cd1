"""The certificate area's one error type."""

from schoolmgr.errors import DomainError


class CertificateError(DomainError):
    """A certificate rule said no; `code` is stable."""
