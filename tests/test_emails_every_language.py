"""Every email the app sends, in every language: nothing left unfilled, nothing empty, no English.

Each kind is queued through `queue_email` with the values its sender gives it (the subject built
the way the sender builds it), for a recipient who reads each language of
`schoolmgr.i18n.LANGUAGES`; the message is then built as it goes out and read back with the
`email` package. Templates are rendered with StrictUndefined, so a value the template needs and
the row below does not give fails the test instead of printing nothing. The English message is
the reference: once the values it was given are taken out, none of its words may be left in a
message written in another language.
"""

import html as html_lib
import re
from email import message_from_bytes, policy
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest
from flask import current_app
from flask_babel import lazy_gettext as _l

from schoolmgr import mail
from schoolmgr.announcements.services import fill, placeholder_values
from schoolmgr.i18n import LANGUAGES, in_language
from schoolmgr.mail import queue_email
from schoolmgr.models import Nomination, RegistrationStatus
from schoolmgr.nominations import services as nominations
from schoolmgr.registration import emails
from tests import factories

EMAIL_DIR = Path(__file__).resolve().parent.parent / "templates" / "email"
BASE = "http://127.0.0.1:5000"


def _registration_kind(kind):
    def build(world):
        return emails.EMAIL_SUBJECTS[kind](world.edition), {
            "user": world.user,
            "edition": world.edition,
            "registration": world.registration,
        }

    return build


def _nomination_kind(decision):
    def build(world):
        return nominations.EMAIL_SUBJECTS[decision](world.edition), {
            "user": world.user,
            "edition": world.edition,
            "registration": world.registration,
        }

    return build


def _announcement(world):
    # As `announcements.services` fills them: the placeholders in the reader's language.
    with in_language(world.user.preferred_language):
        values = placeholder_values(world.registration)
    return fill("{edition}: practical details", values), {
        "user": world.user,
        "edition": world.edition,
        "message": fill(
            "Dear {first_name},\n\nyour sessions: {my_sessions}\nLink: {online_link}", values
        ),
    }


# template -> a function of the world giving (subject as its sender builds it, context)
KINDS = {
    **{
        kind: _registration_kind(kind)
        for kind in (
            "registration_received",
            "registration_accepted",
            "registration_waitlisted",
            "registration_promoted",
            "registration_rejected",
            "registration_cancelled",
        )
    },
    "registration_nominated": _nomination_kind(Nomination.NOMINATED),
    "registration_not_nominated": _nomination_kind(Nomination.DECLINED),
    "signup_welcome": lambda w: (
        _l("Your account is ready"),
        {"user": w.user, "login_url": f"{BASE}/login"},
    ),
    "signup_existing": lambda w: (
        _l("Someone tried to create an account with your email address"),
        {"user": w.user, "login_url": f"{BASE}/login", "forgot_url": f"{BASE}/forgot"},
    ),
    "password_reset": lambda w: (
        _l("Reset your password"),
        {"user": w.user, "reset_url": f"{BASE}/reset/tok", "minutes": 60},
    ),
    "trainer_invitation": lambda w: (
        _l("You are invited to train at the %(school)s", school=current_app.config["SCHOOL_NAME"]),
        {
            "user": w.user,
            "link": f"{BASE}/invitation/tok",
            "days": 14,
            "module": w.session.edition_module.module.name,
            "edition": w.edition.title,
        },
    ),
    "certificate_issued": lambda w: (
        _l("Your certificate: %(title)s", title=w.edition.title),
        {
            "name": w.user.full_name,
            "edition_title": w.edition.title,
            "serial": "2027-0001-00001",
            "download_url": f"{BASE}/me/certificates",
            "verify_url": f"{BASE}/verify/ABCD-EFGH-JKMN-PQRS-TUVW",
        },
    ),
    "announcement": lambda w: _announcement(w),
    "session_reminder": lambda w: (
        _l("Tomorrow: %(module)s (%(edition)s)", module="Agile", edition=w.edition.title),
        {
            "user": w.user,
            "edition": w.edition,
            "session": w.session,
            "module_name": w.session.edition_module.module.name,
            "online": False,
            "place": "Room 2, Hotel Splendid, Budva",
            "link": "",
            "map_url": "https://www.openstreetmap.org/#map=17/42.28/18.84",
        },
    ),
    "session_changed": lambda w: (
        _l("Session changed: %(t)s", t=w.edition.title),
        {
            "user": w.user,
            "edition": w.edition,
            "changes": [
                {
                    "name": "Agile",
                    "cancelled": False,
                    "old": "14 September 2027 09:00–10:30",
                    "new": "15 September 2027 09:00–10:30",
                },
                {"name": "Remote Teams", "cancelled": True, "old": "16 September 2027 09:00"},
            ],
            "schedule_url": f"{BASE}/me/schedule",
        },
    ),
    "evaluation_invitation": lambda w: (
        _l("Your evaluation of %(t)s is waiting", t=w.edition.title),
        {
            "user": w.user,
            "form": SimpleNamespace(edition=w.edition, named=False),
            "links": [("Agile", f"{BASE}/evaluations/1"), ("The edition", f"{BASE}/evaluations/2")],
            "reminder": False,
        },
    ),
}

# What a reader must never see: gettext or Jinja placeholders, announcement {placeholders}.
LEFTOVER = re.compile(r"%\(\w*\)|\{\{|\}\}|\{%|%\}|\{[a-z_]+\}")


def test_every_email_template_the_code_sends_is_checked():
    """A new email kind gets its row in KINDS (partials start with "_"; _test is a fixture)."""
    templates = {p.stem for p in EMAIL_DIR.glob("*.txt") if not p.stem.startswith("_")}
    assert templates == set(KINDS)
    for name in templates:
        assert (EMAIL_DIR / f"{name}.html").exists(), name


@pytest.fixture
def world(app):
    edition = factories.EditionFactory(title="Seasonal School on Digital Transformation")
    edition.online_url = "https://meet.example.org/dt"
    session = factories.SessionFactory(
        edition_module=factories.EditionModuleFactory(
            edition=edition, module=factories.ModuleFactory(name="Agile")
        )
    )
    user = factories.UserFactory(full_name="Ђорђе Çela-Čolić")
    registration = factories.RegistrationFactory(
        edition=edition, user=user, status=RegistrationStatus.WAITLISTED, waitlist_position=3
    )
    factories.db.session.commit()
    return SimpleNamespace(edition=edition, session=session, user=user, registration=registration)


@pytest.fixture
def strict_templates(app, monkeypatch):
    monkeypatch.setattr(app.jinja_env, "undefined", jinja2.StrictUndefined)
    app.jinja_env.cache.clear()
    yield
    app.jinja_env.cache.clear()


def _read_back(email):
    """Subject, text part and the HTML part's text and `lang`, as a mail reader sees them."""
    message = message_from_bytes(mail._build_message(email).as_bytes(), policy=policy.default)
    html = message.get_body(("html",)).get_content().replace("\r\n", "\n")
    lang = re.search(r'<html lang="([^"]*)"', html)
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    return message, text, html, lang and lang.group(1)


def _values(world, subject, context) -> list[str]:
    """Every text the sender gives the template (names, titles, links, dates...), longest first."""
    found = [
        world.edition.title,
        world.edition.venue,
        world.edition.timezone,
        world.user.full_name,
        world.user.email,
        current_app.config["SCHOOL_NAME"],
        BASE,
        str(subject),
    ]

    def walk(value):
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    walk(context)
    return sorted({v for v in found if v}, key=len, reverse=True)


# English month and day names: dates are formatted by Babel and checked by the date tests.
_ENGLISH_DATE_WORDS = re.compile(
    r"\b(January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
)


def _english_pieces(english: str, values: list[str]) -> set[str]:
    """The English wording of a message: what is left between the values it was given."""
    for value in values:
        english = english.replace(value, "\n")
    english = _ENGLISH_DATE_WORDS.sub("\n", english)
    pieces = set()
    for piece in re.split(r"[\n()\[\]{}<>:;,.!?“”\"|·–—-]+|https?://\S+", english):
        piece = " ".join(piece.split())
        if len(re.sub(r"[^A-Za-z]", "", piece)) >= 4:
            pieces.add(piece)
    return pieces


def _visible(html: str) -> str:
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_email_in_every_language_is_complete(app, world, strict_templates, kind):
    english = {}
    for language in LANGUAGES:
        world.user.preferred_language = language.tag
        subject, context = KINDS[kind](world)
        email = queue_email(world.user, kind, subject, **context)
        message, text, html, lang = _read_back(email)
        where = f"{kind} in {language.tag}"
        assert lang == language.tag or "<html" not in html, f"{where}: <html lang={lang!r}>"
        if language.tag == "en":
            english = {
                "text": _english_pieces(text, _values(world, subject, context)),
                "html": _english_pieces(_visible(html), _values(world, subject, context)),
            }
            assert english["text"] and english["html"], where
        else:
            for part, content in (("text", text), ("html", _visible(html))):
                left = sorted(
                    piece
                    for piece in english[part]
                    if re.search(rf"(?<![\w]){re.escape(piece)}(?![\w])", content)
                )
                assert not left, f"{where}: {part} still has English {left}"
        assert message["Subject"].strip(), where
        assert text.strip(), where
        assert re.sub(r"<[^>]+>", "", html).strip(), where
        for part, content in (("subject", message["Subject"]), ("text", text), ("html", html)):
            leftover = LEFTOVER.search(content)
            assert leftover is None, f"{where}: {part} has {leftover.group(0)!r}"
        assert "Ђорђе Çela-Čolić" in text or kind == "announcement", where
        factories.db.session.rollback()
