"""The role-dependent main navigation. Each area adds its entries here."""

from dataclasses import dataclass

from flask import current_app, has_request_context, request, url_for
from flask_babel import lazy_gettext as _l

from schoolmgr.models import Role


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    roles: tuple[Role, ...] | None = None  # None: everyone; () : signed-in users only


# Order is the order on screen. Entries whose endpoint is not registered are skipped.
NAV_ITEMS = [
    NavItem("public.home", _l("Editions")),
    NavItem("public.modules", _l("Modules")),
    NavItem("registration.dashboard", _l("My registrations"), (Role.PARTICIPANT,)),
    NavItem("certificates.mine", _l("My certificates"), (Role.PARTICIPANT,)),
    NavItem("trainer.home", _l("My modules"), (Role.TRAINER, Role.STAFF)),
    NavItem("nominations.home", _l("Nominations"), (Role.COORDINATOR,)),
    NavItem("programme.editions", _l("Programme"), (Role.STAFF,)),
    NavItem("people.users", _l("People"), (Role.STAFF,)),
    NavItem("audit.events", _l("Audit log"), (Role.STAFF,)),
    NavItem("certificates.verify", _l("Verify a certificate")),
]


def nav_items(user) -> list[dict]:
    if not has_request_context():  # emails rendered by services, CLI commands and workers
        return []
    items = []
    for item in NAV_ITEMS:
        if item.endpoint not in current_app.view_functions:
            continue
        if item.roles is not None:
            if not user.is_authenticated:
                continue
            if item.roles and not user.has_role(*item.roles):
                continue
        url = url_for(item.endpoint)
        items.append(
            {"url": url, "label": str(item.label), "active": request.endpoint == item.endpoint}
        )
    return items
