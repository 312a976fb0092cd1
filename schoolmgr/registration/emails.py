"""The emails a registration's changes send (queued in the same transaction)."""

from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.mail import queue_email
from schoolmgr.models import Edition, Registration

EMAIL_SUBJECTS = {
    "registration_received": lambda e: _l("Registration received: %(t)s", t=e.title),
    "registration_accepted": lambda e: _l("You have a seat at %(t)s", t=e.title),
    "registration_waitlisted": lambda e: _l("You are on the waiting list for %(t)s", t=e.title),
    "registration_promoted": lambda e: _l("A seat is free: you are accepted at %(t)s", t=e.title),
    "registration_rejected": lambda e: _l("Your registration for %(t)s", t=e.title),
    "registration_cancelled": lambda e: _l("Registration cancelled: %(t)s", t=e.title),
}


def notify(template: str, registration: Registration, edition: Edition) -> None:
    """Queue one of EMAIL_SUBJECTS' emails to the registered person."""
    queue_email(
        registration.user,
        template,
        EMAIL_SUBJECTS[template](edition),
        user=registration.user,
        edition=edition,
        registration=registration,
    )
