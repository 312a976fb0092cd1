"""The registration area's refusals, and rolling back when a committing service refuses."""

from functools import wraps

from schoolmgr.errors import DomainError
from schoolmgr.extensions import db


class RegistrationError(DomainError):
    """Codes: edition_not_found, edition_draft, edition_archived, registration_not_open,
    registration_closed, already_registered, consent_required, module_required, unknown_module,
    not_found, not_yours, already_cancelled, not_cancellable, over_capacity, unknown_action,
    nothing_selected, capacity_invalid, capacity_below_accepted, capacity_below_quotas,
    quota_invalid, quotas_over_capacity, release_in_past, no_quotas, already_released,
    not_nominated."""


def rolls_back(service):
    """Roll back (and so release the edition lock) when a committing service says no."""

    @wraps(service)
    def wrapped(*args, **kwargs):
        try:
            return service(*args, **kwargs)
        except RegistrationError:
            db.session.rollback()
            raise

    return wrapped
