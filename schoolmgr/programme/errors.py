"""The programme area's refusals."""

from typing import TYPE_CHECKING

from schoolmgr.errors import DomainError

if TYPE_CHECKING:
    from schoolmgr.programme.sessions import Conflict


class ProgrammeError(DomainError):
    """A programme rule said no.

    Codes: end_before_start, registration_window_order, registration_closes_after_end,
    capacity_below_accepted, slug_taken, bad_timezone, sessions_outside_dates,
    session_outside_dates, session_ends_before_start, conflicts, session_has_attendance,
    module_has_attendance, module_chosen, module_has_materials, module_in_use, module_retired,
    module_already_added, not_a_trainer, has_registrations, bad_transition, email_taken,
    invitation_invalid, invitation_expired, weak_password, dates_out_of_range.

    `problems` lists (field, message) pairs so a form can show each message next to its field.
    """

    def __init__(
        self,
        message: str,
        code: str,
        status_code: int | None = None,
        *,
        field: str | None = None,
        problems: list[tuple[str | None, str, str]] | None = None,
        suggestion: str | None = None,
        conflicts: list["Conflict"] | None = None,
    ):
        super().__init__(message, code, status_code)
        self.problems = problems or [(field, message, code)]
        self.suggestion = suggestion
        self.conflicts = conflicts or []

    @property
    def codes(self) -> list[str]:
        return [code for _field, _message, code in self.problems]
