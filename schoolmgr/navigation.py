"""The role-dependent main navigation and the staff tabs of an edition. Each area adds its
entries here."""

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, has_request_context, request, url_for

from schoolmgr.extensions import db
from schoolmgr.i18n import current_language, fmt_count, ngettext
from schoolmgr.i18n import gettext as _
from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.memo import request_memo
from schoolmgr.models import (
    Certificate,
    Edition,
    EditionModule,
    RegistrationStatus,
    Role,
    Session,
    utcnow,
)
from schoolmgr.registration.review import status_counts


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
    NavItem("reports.index", _l("Reports"), (Role.STAFF,)),
    NavItem("audit.events", _l("Audit log"), (Role.STAFF,)),
    NavItem("certificates.verify", _l("Verify a certificate")),
]


@dataclass(frozen=True)
class NavLink:
    url: str
    label: str
    active: bool  # the current page's entry


def nav_items(user) -> tuple[NavLink, ...]:
    """The entries `user` sees, the current page's marked active. The same for every visitor
    with the same role, page and language: each worker builds them once for each."""
    if not has_request_context():  # emails rendered by services, CLI commands and workers
        return ()
    role = user.role if user.is_authenticated else None
    key = (role, request.endpoint, request.script_root, current_language())
    built = current_app.extensions.setdefault("schoolmgr_nav", {})
    links = built.get(key)
    if links is None:
        links = built[key] = tuple(_build_nav(user))
    return links


def _build_nav(user) -> list[NavLink]:
    links = []
    for item in NAV_ITEMS:
        if item.endpoint not in current_app.view_functions:
            continue
        if item.roles is not None:
            if not user.is_authenticated:
                continue
            if item.roles and not user.has_role(*item.roles):
                continue
        active = request.endpoint == item.endpoint
        links.append(NavLink(url_for(item.endpoint), str(item.label), active))
    return links


# --------------------------------------------------------------------------------------------
# The tabs of every staff page of one edition. A new area adds its tab with one line in
# EDITION_TABS (a count is optional); templates/_edition_tabs.html draws them.


@dataclass(frozen=True)
class TabCount:
    shown: str  # short, in the badge: "12/30"
    spoken: str  # what it means, for screen readers and the tooltip: "12 accepted of 30 seats"


@dataclass(frozen=True)
class EditionTab:
    label: str
    endpoint: str  # where the tab leads; takes the edition's `slug`
    under: tuple[str, ...]  # endpoints (or "area." prefixes) of the pages inside this tab
    count: Callable[[Edition], TabCount | None] | None = None


_CERTIFICATES_IN_FORCE = (
    sa.select(sa.func.count())
    .select_from(Certificate)
    .where(
        Certificate.edition_id == sa.bindparam("edition_id"),
        Certificate.superseded_at.is_(None),
        Certificate.revoked_at.is_(None),
    )
    .scalar_subquery()
)
_EDITION_COUNTS = (  # built once per process: every staff page of an edition runs it
    sa.select(
        sa.func.count(sa.distinct(EditionModule.id)),
        sa.func.count(Session.id),
        sa.func.count(Session.id).filter(Session.starts_at <= sa.bindparam("now")),
        _CERTIFICATES_IN_FORCE,
    )
    .select_from(EditionModule)
    .outerjoin(Session, Session.edition_module_id == EditionModule.id)
    .where(EditionModule.edition_id == sa.bindparam("edition_id"))
)


def _edition_counts(edition: Edition) -> tuple[int, int, int, int]:
    """Modules, sessions, sessions already started and certificates in force of `edition`:
    one query for the tabs that show them, kept for the rest of the request."""
    counted = request_memo("edition_tab_counts")
    if edition.id not in counted:
        params = {"edition_id": edition.id, "now": utcnow()}
        counted[edition.id] = tuple(db.session.execute(_EDITION_COUNTS, params).one())
    return counted[edition.id]


def _count_sessions(edition: Edition) -> TabCount:
    modules, sessions, _held, _certificates = _edition_counts(edition)
    spoken = ngettext("%(num)d module", "%(num)d modules", modules) + ", "
    spoken += ngettext("%(num)d session", "%(num)d sessions", sessions)
    return TabCount(fmt_count(sessions), spoken)


def _count_registrations(edition: Edition) -> TabCount:
    counts = status_counts(edition)
    accepted = counts[RegistrationStatus.ACCEPTED]
    pending = counts[RegistrationStatus.PENDING]
    spoken = _("%(a)d accepted of %(c)d seats", a=accepted, c=edition.capacity)
    if pending:
        spoken += ", " + _("%(p)d to decide", p=pending)
    return TabCount(f"{fmt_count(accepted)}/{fmt_count(edition.capacity)}", spoken)


def _count_sessions_held(edition: Edition) -> TabCount:
    _modules, total, held, _certificates = _edition_counts(edition)
    return TabCount(
        f"{fmt_count(held)}/{fmt_count(total)}",
        ngettext("%(h)d of %(num)d session held", "%(h)d of %(num)d sessions held", total, h=held),
    )


def _count_certificates(edition: Edition) -> TabCount:
    issued = _edition_counts(edition)[3]
    spoken = ngettext("%(num)d certificate issued", "%(num)d certificates issued", issued)
    return TabCount(fmt_count(issued), spoken)


EDITION_TABS = [
    EditionTab(_l("Programme"), "programme.edition", ("programme.",), _count_sessions),
    EditionTab(
        _l("Registrations"),
        "registration.staff_list",
        ("registration.staff_",),
        _count_registrations,
    ),
    EditionTab(
        _l("Attendance"),
        "attendance.edition_summary",
        ("attendance.edition_summary",),
        _count_sessions_held,
    ),
    EditionTab(
        _l("Certificates"), "certificates.eligibility", ("certificates.",), _count_certificates
    ),
    EditionTab(
        _l("Evaluations"),
        "evaluations.edition_forms",
        ("evaluations.edition_forms", "evaluations.edit", "evaluations.results"),
    ),
    EditionTab(
        _l("Announcements"),
        "announcements.staff_list",
        ("announcements.staff_list", "announcements.compose", "announcements.detail"),
    ),
    EditionTab(
        _l("Invitation letters"),
        "announcements.letters_page",
        ("announcements.letters_page", "announcements.staff_letter"),
    ),
]


def edition_tabs(edition: Edition) -> list[dict]:
    """The tabs for `edition` as the partial draws them: url, label, active, count."""
    tabs = []
    for tab in EDITION_TABS:
        if tab.endpoint not in current_app.view_functions:
            continue
        endpoint = request.endpoint or ""
        active = any(
            endpoint.startswith(u) if u.endswith((".", "_")) else endpoint == u for u in tab.under
        )
        tabs.append(
            {
                "url": url_for(tab.endpoint, slug=edition.slug),
                "label": str(tab.label),
                "active": active,
                "count": tab.count(edition) if tab.count else None,
            }
        )
    return tabs
