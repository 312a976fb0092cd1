"""The error every material rule raises when it says no."""

from schoolmgr.errors import DomainError


class MaterialError(DomainError):
    """A material rule said no; `code` is stable."""
