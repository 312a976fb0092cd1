"""The registration area's refusals."""

from schoolmgr.errors import DomainError


class RegistrationError(DomainError):
    """Codes: edition_not_found, edition_draft, edition_archived, registration_not_open,
    registration_closed, already_registered, consent_required, module_required, unknown_module,
    not_found, not_yours, already_cancelled, not_cancellable, over_capacity, unknown_action,
    nothing_selected, capacity_invalid, capacity_below_accepted, capacity_below_quotas,
    quota_invalid, quotas_over_capacity, release_in_past, no_quotas, already_released,
    not_nominated."""
