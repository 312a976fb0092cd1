"""The framework's ceiling: a bare Flask app rendering the real home-page template from plain data.

No database, no extensions, no sessions: only Flask, Jinja and the same templates
(public/home.html, base.html, _macros.html, _edition_card.html). bench/pages.py serves it with
gunicorn and compares every page of the app against it. The cards come from the JSON file named
by BENCH_HOME_DATA (written by bench/pages.py from the real home page's data).
"""

import json
import os
from datetime import date
from pathlib import Path

from flask import Blueprint, Flask, render_template

from schoolmgr.i18n import LANGUAGES

ROOT = Path(__file__).resolve().parents[1]


class PlainPager:
    """What the pagination macro reads, with no query behind it."""

    def __init__(self, page: int, pages: int, per_page: int = 12):
        self.page, self.pages, self.per_page = page, pages, per_page
        self.total = pages * per_page
        self.first = (page - 1) * per_page + 1
        self.last = min(page * per_page, self.total)
        self.has_prev, self.has_next = page > 1, page < pages
        self.prev_num, self.next_num = page - 1, page + 1

    def iter_pages(self, left_edge=2, left_current=2, right_current=4, right_edge=2):
        last_shown = 0
        for num in range(1, self.pages + 1):
            if (
                num <= left_edge
                or self.page - left_current <= num <= self.page + right_current
                or num > self.pages - right_edge
            ):
                if last_shown + 1 != num:
                    yield None
                yield num
                last_shown = num


class Anonymous:
    is_authenticated = False


MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]  # fmt: skip


def date_range(start: date, end: date) -> str:
    if start == end:
        return f"{end.day} {MONTHS[end.month - 1]} {end.year}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{end.day} {MONTHS[end.month - 1]} {end.year}"
    return f"{start.day} {MONTHS[start.month - 1]} – {end.day} {MONTHS[end.month - 1]} {end.year}"


def _cards(raw: list[dict]) -> list[dict]:
    for card in raw:
        edition = card["edition"]
        edition["start_date"] = date.fromisoformat(edition["start_date"])
        edition["end_date"] = date.fromisoformat(edition["end_date"])
    return raw


def create_ceiling_app(data: dict) -> Flask:
    app = Flask(
        __name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static")
    )
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_null_translations(newstyle=True)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.filters["date_range"] = date_range
    app.jinja_env.globals.update(
        has_endpoint=lambda endpoint: False,
        get_locale=lambda: "en",
        current_user=Anonymous(),
        kosovo_footnote="",
        csrf_token=lambda: "ceiling-token",  # the header's language form
        languages=LANGUAGES,
        current_language="en",
        school_short_name="ReSPA",
    )
    upcoming, past = _cards(data["upcoming"]), _cards(data["past"])
    pager = PlainPager(1, max(1, data.get("pages", 1)))
    nav = [{"url": "/", "label": "Editions", "active": True}]

    public = Blueprint("public", __name__)
    auth = Blueprint("auth", __name__)

    @public.route("/")
    def home():
        return render_template(
            "public/home.html",
            upcoming=upcoming,
            past=past,
            past_pager=pager,
            nav=nav,
            school_name="Regional School of Public Administration",
            today=date.today(),
        )

    @public.route("/editions/<slug>")
    def edition(slug):
        return ""

    @public.route("/language", methods=["POST"])
    def set_language():
        return ""

    @auth.route("/login")
    def login():
        return ""

    @auth.route("/signup")
    def signup():
        return ""

    app.register_blueprint(public)
    app.register_blueprint(auth)
    return app


def _load() -> dict:
    path = os.environ.get("BENCH_HOME_DATA")
    if not path:
        return {"upcoming": [], "past": [], "pages": 1}
    return json.loads(Path(path).read_text())


app = create_ceiling_app(_load())
