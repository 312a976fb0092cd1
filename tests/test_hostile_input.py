"""Hostile and malformed input: CSRF on every POST, hostile values to every form, escaping.

The forms are found, not listed: every GET page of the authorization matrix is fetched as each
kind of visitor, its <form method=post> elements parsed, and their fields collected per target
route. Hypothesis then posts hostile values to each: very long strings, control characters and
NUL, right-to-left and combining Unicode, HTML/script, SQL-looking text, negative and huge
numbers, impossible dates, missing and repeated fields. The rules checked after every post:
no 5xx; no stored text holds control characters or exceeds its column's length; pages show
stored text escaped. Examples per form: HOSTILE_EXAMPLES (default 5), so the run stays short.

Forms the matrix world never shows (it is never in the state they need) are shown by putting it
in that state first (`show_hidden_forms`); requests built by JavaScript are declared in
JS_REQUESTS. Every POST route must end up with its real fields: none falls back to guessed ones.
"""

import operator
import os
import re
from collections.abc import Iterable
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from schoolmgr.extensions import db
from schoolmgr.models import AttendanceStatus, CertificateOverride, RegistrationStatus, utcnow
from schoolmgr.text import line_problem
from tests import factories
from tests.test_authorization_matrix import (
    ROWS,
    VISITORS,
    build_world,
    url_for_row,
)

EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "5"))
XSS_MARKERS = ("<script>xss(", "<img src=x onerror=xss(", "<svg/onload=xss(")
HOSTILE_TEXT = [
    "A" * 5000,
    "é" * 300,
    "\x00",
    "name\x00with nul",
    "\x1b[31mred\x1b[0m",
    "line\x0bbreak\x0c",
    "\u202egnp.exe\u202c",  # right-to-left override
    "\u200f\u05e9\u05dc\u05d5\u05dd\u200e",  # Hebrew between direction marks
    "e\u0301\u0301\u0301\u0301\u0301",  # stacked combining accents
    "Z\u0351\u0352\u0353\u0354\u0355\u0356\u0357",
    "\ufeffBOM",
    "<script>xss(1)</script>",
    '"><img src=x onerror=xss(2)>',
    "<svg/onload=xss(3)>",
    "{{ 7*7 }}{% raw %}",
    "' OR '1'='1'; DROP TABLE users; --",
    "Robert'); DELETE FROM registrations;--",
    "../../../etc/passwd",
    "",
    " ",
    "\r\n\r\n",
    "Đorđe Čolić Ђорђе Чолић Ëngjëll Çela",
]
HOSTILE_NUMBERS = ["-1", "0", "-0", "3.5", "99999999999999999999999", "1e309", "NaN", "0x1F", "٣"]
HOSTILE_DATES = [
    "2023-02-30",
    "2024-13-01",
    "0000-00-00",
    "9999-12-31",
    "31/12/2024",
    "2024-02-29T25:61",
    "-2024-01-01",
    "1-1-1",
]
ALL_HOSTILE = HOSTILE_TEXT + HOSTILE_NUMBERS + HOSTILE_DATES
MISSING = object()
GENERIC_FIELDS = ("status", "action", "reason", "code", "comment", "registration_id", "confirm")
# POST routes allowed to be fuzzed with GENERIC_FIELDS because no page shows their form and no
# script builds it. Keep it empty: a route without real fields is a gap in this test, so a new
# form must be reachable by the crawl (a page, or a state in show_hidden_forms) or declared in
# JS_REQUESTS.
GENERIC_FIELDS_ALLOWED: frozenset[str] = frozenset()


def hostile_value(field: "Field"):
    pool = ALL_HOSTILE + field.options
    one = st.sampled_from(pool) | st.text(max_size=40)
    return st.one_of(
        st.just(MISSING),
        one,
        st.lists(one, min_size=2, max_size=3),  # a repeated field
    )


# --- finding the forms -------------------------------------------------------------------------


class Field:
    def __init__(self, name: str):
        self.name = name
        self.options: list[str] = []


class FormParser(HTMLParser):
    """The POST forms of a page: action and fields (inputs, selects with options, textareas)."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, dict[str, Field]]] = []
        self._fields: dict[str, Field] | None = None
        self._select: Field | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "get").lower() == "post":
            self._fields = {}
            self.forms.append((attrs.get("action") or "", self._fields))
        elif self._fields is not None and tag in ("input", "select", "textarea", "button"):
            name = attrs.get("name")
            if not name or name == "csrf_token":
                return
            field = self._fields.setdefault(name, Field(name))
            if attrs.get("value") and tag in ("input", "button"):
                field.options.append(attrs["value"])
            self._select = field if tag == "select" else None
        elif tag == "option" and self._select is not None:
            self._select.options.append(attrs.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._fields = None
        elif tag == "select":
            self._select = None


def _client_as(app, world, kind: str):
    client = app.test_client()
    user = world.visitor(kind)
    if user is not None:
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
    return client


def get_pages(app, world) -> list[tuple[str, str]]:
    """(visitor kind, URL) of every GET row, for each visitor the table lets in."""
    pages = []
    for row in ROWS:
        if row.method != "GET" or row.endpoint not in app.view_functions:
            continue
        url = url_for_row(app, row, world)
        if url.endswith((".pdf", ".zip", ".csv", ".xlsx", ".ics", ".json", ".svg", ".png", ".jwt")):
            continue
        if row.endpoint in ("static", "health.healthz"):
            continue
        for kind in VISITORS:
            if row.expected[kind] in ("200", "ok"):
                pages.append((kind, url))
    return pages


def show_hidden_forms(app, world) -> list[tuple[str, str]]:
    """Put the world in the states the matrix world lacks, in which the last forms are shown;
    return (visitor kind, URL) of the pages showing them."""
    from flask import url_for

    later = world.session1.starts_at + timedelta(days=2)
    # The check-in screen offers "Open check-in" only while the session has no typed code.
    codeless = factories.SessionFactory(
        edition_module=world.em1, starts_at=later, checkin_code=None, title="No code yet"
    )
    # The roster offers "Reopen for check-in" only for a closed session.
    closed = factories.SessionFactory(
        edition_module=world.em1,
        starts_at=later + timedelta(days=1),
        closed_at=utcnow(),
        title="Closed",
    )
    # The certificates page offers "Issue" only to an eligible participant without a certificate.
    factories.RegistrationFactory(
        edition=world.edition,
        certificate_override=CertificateOverride.GRANTED,
        certificate_override_reason="Attended the make-up course",
    )
    # A module can be removed only while nothing (marks, choices, materials) depends on it.
    removable = factories.EditionModuleFactory(edition=world.edition)
    # An evaluation form offers "Publish" only while it is a draft.
    from schoolmgr.evaluations import authoring
    from schoolmgr.models import FormKind

    draft = authoring.create_form(world.edition, FormKind.FOLLOW_UP, 3)
    # "Release unused country seats now" is offered only while the edition reserves some.
    factories.set_quotas(world.edition, RS=1)
    # The coordinator's nomination form is shown for pending registrations of their country.
    factories.RegistrationFactory(
        edition=world.edition,
        user=factories.UserFactory(country=world.coord.coordinator_country),
        status=RegistrationStatus.PENDING,
        motivation="Awaiting a nomination",
    )
    with app.test_request_context():
        return [
            ("trainer", url_for("attendance.checkin_screen", session_id=codeless.id)),
            ("trainer", url_for("attendance.roster", session_id=closed.id)),
            ("staff", url_for("certificates.eligibility", slug=world.edition.slug)),
            ("staff", url_for("programme.remove_module", em_id=removable.id)),
            ("staff", url_for("evaluations.edit", form_id=draft.id)),
            ("coord", url_for("nominations.edition", slug=world.edition.slug)),
            ("staff", url_for("registration.staff_seats", slug=world.edition.slug)),
        ]


# Requests no page holds a form for: static/js/attendance.js builds them from the roster page.
# endpoint -> (visitor kind, URL arguments from the world, {field: options}, request headers).
JS_REQUESTS = {
    # The roster's in-place marking: on a status radio's change the script posts FormData with
    # "status" (the radio's value) and "csrf_token" to the form's data-mark-url, its final 0
    # made the radio's registration, with the header "X-Requested-With: fetch" (and gets the
    # updated row back).
    "attendance.mark_one": (
        "trainer",
        {"session_id": "session1.id", "registration_id": "registration.id"},
        {"status": [s.value for s in AttendanceStatus]},
        {"X-Requested-With": "fetch"},
    ),
}


def declared_requests(app, world) -> dict[str, tuple[str, str, dict[str, Field], dict]]:
    """JS_REQUESTS with their URLs and Field objects, as discover_forms gives forms."""
    from flask import url_for

    declared = {}
    for endpoint, (kind, args, options, headers) in JS_REQUESTS.items():
        url_args = {name: operator.attrgetter(path)(world) for name, path in args.items()}
        with app.test_request_context():
            url = url_for(endpoint, **url_args)
        fields = {name: Field(name) for name in options}
        for name, field in fields.items():
            field.options.extend(options[name])
        declared[endpoint] = (kind, url, fields, headers)
    return declared


def discover_forms(
    app, world, extra_pages: Iterable[tuple[str, str]] = ()
) -> dict[str, tuple[str, str, dict[str, Field]]]:
    """endpoint -> (visitor kind, action URL, fields) for every POST form found on the pages."""
    adapter = app.url_map.bind("localhost")
    found: dict[str, tuple[str, str, dict[str, Field]]] = {}
    for kind, url in dict.fromkeys(get_pages(app, world) + list(extra_pages)):
        response = _client_as(app, world, kind).get(url)
        if response.status_code != 200 or "html" not in response.mimetype:
            continue
        parser = FormParser()
        parser.feed(response.get_data(as_text=True))
        for action, fields in parser.forms:
            target = urlsplit(urljoin(url, action))
            try:
                endpoint, _ = adapter.match(target.path, method="POST")
            except HTTPException:
                continue
            known = found.get(endpoint)
            if known is None or len(fields) > len(known[2]):
                path = target.path + (f"?{target.query}" if target.query else "")
                found[endpoint] = (kind, path, fields)
    return found


# --- the rules checked after each post ---------------------------------------------------------

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A person's name, institution and position are printed on certificates and lists: never a
# line break, a bidi control or blank (issue 12.6).
PRINTED_LINES = {("users", "full_name"), ("users", "institution"), ("users", "position")}


def stored_text_problems() -> list[str]:
    """Text columns holding control characters or more than their declared length."""
    problems = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, sa.String | sa.Text)]
        if not columns:
            continue
        for row in db.session.execute(sa.select(*columns)).all():
            for column, value in zip(columns, row, strict=True):
                if not isinstance(value, str):
                    continue
                if CONTROL.search(value):
                    problems.append(f"{table.name}.{column.name} stores {value[:40]!r}")
                if (table.name, column.name) in PRINTED_LINES and line_problem(value):
                    problems.append(f"{table.name}.{column.name} stores {value[:40]!r}")
                length = getattr(column.type, "length", None)
                if length and len(value) > length:
                    problems.append(f"{table.name}.{column.name} holds {len(value)} > {length}")
    return problems


def unescaped_markers(body: str) -> list[str]:
    return [marker for marker in XSS_MARKERS if marker in body]


# --- the tests ---------------------------------------------------------------------------------

POST_ROWS = [row for row in ROWS if row.method == "POST"]
POSTER_PREFERENCE = (
    "owner",
    "trainer",
    "staff",
    "anon",
    "admin",
    "other",
    "otrainer",
    "coord",
    "ocoord",
)


def poster_for(row) -> str:
    return next(kind for kind in POSTER_PREFERENCE if row.expected[kind] in ("ok", "R", "200"))


def test_every_post_route_refuses_a_request_without_csrf_token(app):
    """Every POST route, as a visitor allowed to post there, without a token: a 400 and no row
    written. One world serves them all (building it takes a second; nothing may change it)."""
    world = build_world()
    app.config["WTF_CSRF_ENABLED"] = True
    problems = []
    for row in POST_ROWS:
        if row.endpoint not in app.view_functions:
            continue  # a row without its route: test_every_row_names_a_route says so
        client = _client_as(app, world, poster_for(row))  # signing in records a session row
        counts_before = _row_counts()
        response = client.post(url_for_row(app, row, world), data={"anything": "x"})
        body = response.get_data(as_text=True)
        if response.status_code != 400 or not ("CSRF" in body or "Bad request" in body):
            problems.append(f"{row.endpoint}: {response.status_code}")
        if _row_counts() != counts_before:
            problems.append(f"{row.endpoint} wrote rows without a token")
    assert problems == []


def _row_counts() -> dict[str, int]:
    db.session.expire_all()
    return {
        t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t))
        for t in db.metadata.sorted_tables
    }


def test_every_post_route_is_covered_by_the_csrf_test(app):
    posts = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods and not rule.endpoint.startswith("test_")
    }
    assert posts <= {row.endpoint for row in POST_ROWS}


def _hostile_poster(
    client, endpoint: str, action: str, fields: dict[str, Field], headers: dict | None = None
):
    """A hypothesis test posting hostile values for `fields` to `action` (with `headers`)."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(values=st.fixed_dictionaries({n: hostile_value(f) for n, f in fields.items()}))
    def post_hostile(values):
        data = MultiDict()
        for name, value in values.items():
            if value is MISSING:
                continue
            for item in value if isinstance(value, list) else [value]:
                data.add(name, item)
        response = client.post(action, data=data, headers=headers, follow_redirects=True)
        assert response.status_code < 500, f"{endpoint} {action}: {response.status_code}"
        if "html" in response.mimetype:
            body = response.get_data(as_text=True)
            assert not unescaped_markers(body), f"{endpoint}: unescaped markup in the page"
        db.session.rollback()
        problems = stored_text_problems()
        assert not problems, f"{endpoint}: {problems}"

    return post_hostile


def test_hostile_values_to_every_form_never_crash_store_junk_or_render_unescaped(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    world = build_world()
    forms = {
        endpoint: (*form, None)
        for endpoint, form in discover_forms(app, world, show_hidden_forms(app, world)).items()
    }
    assert len(forms) >= 10, sorted(forms)  # the crawl found the app's forms
    forms.update(declared_requests(app, world))
    failures: list[str] = []

    # Every POST route is posted its real fields: its form was found on a page, or its request
    # is declared in JS_REQUESTS. Only those in GENERIC_FIELDS_ALLOWED get guessed names.
    without_form = sorted(
        row.endpoint
        for row in POST_ROWS
        if row.endpoint in app.view_functions and row.endpoint not in forms
    )
    assert set(without_form) <= GENERIC_FIELDS_ALLOWED, (
        "POST routes whose form no crawled page shows (add the page or state to "
        f"show_hidden_forms, or the script's request to JS_REQUESTS): {without_form}"
    )
    for row in POST_ROWS:
        if row.endpoint in without_form:
            fields = {name: Field(name) for name in GENERIC_FIELDS}
            forms[row.endpoint] = (poster_for(row), url_for_row(app, row, world), fields, None)

    for endpoint, (kind, action, fields, headers) in sorted(forms.items()):
        client = _client_as(app, world, kind)
        post_hostile = _hostile_poster(client, endpoint, action, fields, headers)
        try:
            post_hostile()
        except AssertionError as err:  # collect, so that one run reports every form
            example = " ".join(getattr(err, "__notes__", []))[:600]
            failures.append(f"{endpoint} as {kind}: {str(err).splitlines()[0]} {example}")

    assert not failures, "\n".join(failures)


def test_stored_hostile_text_is_rendered_escaped_on_every_page(app):
    """Text written straight into the database (an import, a CLI) is still escaped everywhere."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    world = build_world()
    marker = '<script>xss("stored")</script>'
    for obj, attrs in (
        (world.owner, ("full_name", "institution", "position")),
        (world.other, ("full_name", "institution")),
        (world.trainer, ("full_name",)),
        (world.edition, ("title", "description", "venue")),
        (world.module1, ("name", "summary", "description")),
        (world.session1, ("title", "room")),
        (world.registration, ("motivation", "needs")),
        (world.material, ("title", "description")),
    ):
        for attr in attrs:
            setattr(obj, attr, f"{getattr(obj, attr)} {marker}"[:190])
    db.session.commit()

    shown = 0
    for kind, url in get_pages(app, world):
        response = _client_as(app, world, kind).get(url)
        assert response.status_code < 500, f"{url} as {kind}: {response.status_code}"
        body = response.get_data(as_text=True)
        assert marker not in body, f"{url} as {kind} shows the script unescaped"
        shown += "&lt;script&gt;xss(" in body
    assert shown >= 5  # the stored text really was on the pages, escaped


PAGE_EXTREMES = ["9223372036854775807", "99999999999999999999", "-1", "0", "abc", "2147483648"]


def test_page_number_extremes_on_every_page_are_a_404_never_a_500(app, monkeypatch):
    """Every GET page, as each visitor it lets in, with ?page= extremes: a list that reads the
    page number answers 404 (the page does not exist); no page answers 5xx (issue 12.2)."""
    import schoolmgr.pagination

    app.config["PROPAGATE_EXCEPTIONS"] = False
    world = build_world()
    reads_page: list[bool] = []
    real_page_number = schoolmgr.pagination.page_number

    def recording_page_number():
        reads_page.append(True)
        return real_page_number()

    monkeypatch.setattr(schoolmgr.pagination, "page_number", recording_page_number)
    lists = set()
    for kind, url in get_pages(app, world):
        client = _client_as(app, world, kind)
        for value in PAGE_EXTREMES:
            reads_page.clear()
            response = client.get(url, query_string={"page": value})
            assert response.status_code < 500, f"{url}?page={value} as {kind}"
            if reads_page:
                lists.add(url)
                assert response.status_code == 404, (
                    f"{url}?page={value} as {kind}: {response.status_code}"
                )
    # The paginated lists really were among the pages: home, series, people, registrations...
    assert {"/", "/staff/people/", f"/series/{world.edition.series}"} <= lists, sorted(lists)
