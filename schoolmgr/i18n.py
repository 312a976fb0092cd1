"""The languages the app speaks, and which one a request is answered in.

A language has three names: its BCP 47 tag (stored on users, written in `<html lang>` and the
`lang` cookie), its name in itself (the header menu) and the CLDR locale whose data formats its
dates and numbers and whose folder under `translations/` holds its catalogue. Babel has no data
for Montenegrin, so `cnr` uses Serbian Latin (Montenegro) data and is shown as "crnogorski".

Choosing: a signed-in user's saved language, then the `lang` cookie an anonymous visitor set with
the menu, then the browser's Accept-Language, then English.
"""

import re
from dataclasses import dataclass

import flask_babel
from babel import Locale, lists, numbers
from flask import current_app, g, has_app_context, has_request_context, request
from flask.globals import _cv_app
from flask_babel import force_locale
from flask_babel.speaklater import LazyString
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup

LANGUAGE_COOKIE = "lang"
DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class Language:
    tag: str
    endonym: str
    babel_locale: str


# Order is the order of the menu: the working language first, then the regional languages.
LANGUAGES: tuple[Language, ...] = (
    Language("en", "English", "en_GB"),
    Language("sq", "shqip", "sq"),
    Language("bs", "bosanski", "bs"),
    Language("hr", "hrvatski", "hr"),
    Language("mk", "македонски", "mk"),
    Language("cnr", "crnogorski", "sr_Latn_ME"),
    Language("sr-Cyrl", "српски", "sr_Cyrl"),
    Language("sr-Latn", "srpski", "sr_Latn"),
)
BY_TAG = {language.tag: language for language in LANGUAGES}
BY_LOCALE = {language.babel_locale: language for language in LANGUAGES}
LANGUAGE_NAMES = {language.tag: language.endonym for language in LANGUAGES}


def is_supported(tag: str | None) -> bool:
    return tag in BY_TAG


def babel_locale(tag: str | None) -> str:
    """The CLDR locale (and catalogue folder) of a language tag; English for anything unknown."""
    return BY_TAG.get(tag or "", BY_TAG[DEFAULT_LANGUAGE]).babel_locale


def _from_accept_language() -> str | None:
    # Browsers send "sr", "sr-RS", "sr-Latn-RS", "mk-MK", "sq-AL"...: match on the whole tag
    # first, then on script, then on the language alone (plain "sr" means Cyrillic, as in CLDR).
    aliases = {
        "sr": "sr-Cyrl",
        "sr-rs": "sr-Cyrl",
        "sr-cyrl-rs": "sr-Cyrl",
        "sr-latn-rs": "sr-Latn",
        "sr-me": "cnr",
        "sr-latn-me": "cnr",
        "cnr-me": "cnr",
        "sh": "sr-Latn",
    }
    for value, _quality in request.accept_languages:
        lowered = value.lower().replace("_", "-")
        for tag in BY_TAG:
            if lowered == tag.lower():
                return tag
        if lowered in aliases:
            return aliases[lowered]
        primary = lowered.split("-")[0]
        if primary in BY_TAG:
            return primary
        if primary in aliases:
            return aliases[primary]
    return None


def request_language() -> str:
    """The language tag this request is answered in."""
    from flask_login import current_user

    if (
        current_user
        and current_user.is_authenticated
        and is_supported(current_user.preferred_language)
    ):
        return current_user.preferred_language
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if is_supported(cookie):
        return cookie
    return _from_accept_language() or DEFAULT_LANGUAGE


def select_locale() -> str:
    """Flask-Babel's locale selector: the CLDR locale of the request's language."""
    if not has_request_context():  # CLI commands and workers: English unless forced
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    return babel_locale(request_language())


def current_language() -> str:
    """The tag of the language being rendered now (a page, or an email in its recipient's)."""
    locale = get_locale()
    if locale is None:
        return DEFAULT_LANGUAGE
    language = BY_LOCALE.get(str(locale))
    return language.tag if language else DEFAULT_LANGUAGE


def in_language(tag: str | None):
    """Context manager: render (an email, a PDF) in the given language."""
    return force_locale(babel_locale(tag))


# --- numbers and lists in the language being rendered (Babel/CLDR) ---------------------------
# "12,5 %" in Croatian, "12,5%" in Albanian, "1.234" in Serbian: never f-strings for display.


def _locale():
    return get_locale() or BY_TAG[DEFAULT_LANGUAGE].babel_locale


def fmt_number(value: float | int | str | None) -> str:
    """A count or quantity as the language writes it: grouping, decimal sign, no trailing zeros
    ("1.234", "7,5"). Text (a dash for "not yet") is shown as it is."""
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    return numbers.format_decimal(value, locale=_locale())


def _grouped_digits(value: int) -> bool:
    """Whether a count needs Babel: below a thousand every language of the app writes the
    plain digits (and a page shows dozens of such counts)."""
    return not -1000 < value < 1000


def fmt_count(value: int) -> str:
    """A whole count as fmt_number writes it ("1.234"), without asking Babel below a thousand."""
    return fmt_number(value) if _grouped_digits(value) else str(value)


def fmt_decimal(value: float | None, digits: int = 2, at_least: int | None = None) -> str:
    """A mean or score with `digits` decimals ("4,50" in Croatian), or between `at_least` and
    `digits` of them ("4,0", "4,33" with `at_least=1`)."""
    if value is None:
        return "–"
    at_least = digits if at_least is None else at_least
    decimals = "0" * at_least + "#" * (digits - at_least)
    pattern = "#,##0" + ("." + decimals if decimals else "")
    return numbers.format_decimal(value, format=pattern, locale=_locale())


def fmt_percent(value: float | None, digits: int = 0) -> str:
    """A percentage given as 0–100, in the language's own percent pattern ("12,5 %")."""
    if value is None:
        return "–"
    locale = Locale.parse(_locale())
    pattern = locale.percent_formats[None].pattern
    if digits:  # the locale's pattern with `digits` fixed decimals
        pattern = re.sub(r"0(?![0#,.])", "0." + "0" * digits, pattern, count=1)
    return numbers.format_percent(value / 100, format=pattern, locale=locale)


def fmt_list(items) -> str:
    """Items joined as the language joins them: "A, B and C", "A, B i C", "A, B dhe C"."""
    items = [str(item) for item in items]
    return lists.format_list(items, locale=_locale()) if items else ""


# --- translating: the one place the app's code and templates get gettext from -----------------
# Flask-Babel's own functions find the domain, the locale and the catalogue through a few
# context lookups on every call (about 20 µs, and a staff page translates a few hundred strings
# and lazy labels). These read the locale and catalogue from Flask-Babel's per-request slot in
# one lookup: Flask-Babel keeps the locale there, and `get_translations` the catalogue it found.
# `force_locale` (`in_language`) and `refresh()` reset both, and Flask-Babel then chooses again.
# The slot is read from the app context itself (Flask's context variable behind `g`): through
# the `g` proxy, the lookups cost a twentieth of the home page.


def _babel_slot(name: str):
    app_context = _cv_app.get(None)
    if app_context is None:
        return None
    slot = getattr(app_context.g, "_flask_babel", None)
    return getattr(slot, name, None) if slot is not None else None


def get_locale() -> Locale | None:
    """The locale being rendered (Flask-Babel's `get_locale`, in one lookup once chosen)."""
    locale = _babel_slot("babel_locale")
    return locale if locale is not None else flask_babel.get_locale()


def get_translations():
    """The catalogue being rendered (Flask-Babel's `get_translations`, kept for the request)."""
    translations = _babel_slot("babel_translations")
    if translations is None:
        translations = flask_babel.get_translations()
        if has_app_context():  # the slot exists now: Flask-Babel made it to find the locale
            g._flask_babel.babel_translations = translations
    return translations


def _grouped(translated: str, variables: dict) -> str:
    """Counts written as the reader's language groups digits ("1,234 seats", "1.234 mjesta",
    "1 234 vende"): the catalogues keep `%(n)d`, and a count from a thousand on is shown as
    fmt_count(n). A year (`year`) is not a count: "since 2019"."""
    for name, value in variables.items():
        if type(value) is int and _grouped_digits(value) and name != "year":
            placeholder = f"%({name})d"
            if placeholder in translated:
                variables[name] = fmt_count(value)
                translated = translated.replace(placeholder, f"%({name})s")
    return translated


def _formatted(translated: str, variables: dict) -> str:
    return _grouped(translated, variables) % variables if variables else translated


def gettext(string: str, **variables) -> str:
    return _formatted(get_translations().ugettext(string), variables)


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    variables.setdefault("num", num)
    return _formatted(get_translations().ungettext(singular, plural, num), variables)


def pgettext(context: str, string: str, **variables) -> str:
    return _formatted(get_translations().upgettext(context, string), variables)


def npgettext(context: str, singular: str, plural: str, num: int, **variables) -> str:
    variables.setdefault("num", num)
    return _formatted(get_translations().unpgettext(context, singular, plural, num), variables)


# Templates translate through the same catalogue. Jinja's i18n extension reaches it through
# three context calls a string (`_` finds `gettext`, which calls the function it was given),
# each inspecting its callee: about 7 µs a string, 90 strings on a staff page. These are the
# extension's newstyle functions in one call: the translation is marked safe where the
# template escapes, and always formatted, so that `%` in a translation reads the same with
# or without variables (whose values `%` on the safe string escapes).


def _shown(eval_ctx: EvalContext, translated: str, variables: dict) -> str:
    translated = _grouped(translated, variables)
    if eval_ctx.autoescape:
        translated = Markup(translated)
    # Without variables or a %, formatting would give the same string.
    return translated % variables if variables or "%" in translated else translated


@pass_eval_context
def template_gettext(eval_ctx: EvalContext, string: str, **variables) -> str:
    return _shown(eval_ctx, get_translations().ugettext(string), variables)


@pass_eval_context
def template_ngettext(eval_ctx: EvalContext, singular: str, plural: str, num: int, **variables):
    variables.setdefault("num", num)
    return _shown(eval_ctx, get_translations().ungettext(singular, plural, num), variables)


@pass_eval_context
def template_pgettext(eval_ctx: EvalContext, context: str, string: str, **variables) -> str:
    variables.setdefault("context", context)
    return _shown(eval_ctx, get_translations().upgettext(context, string), variables)


@pass_eval_context
def template_npgettext(
    eval_ctx: EvalContext, context: str, singular: str, plural: str, num: int, **variables
) -> str:
    variables.setdefault("context", context)
    variables.setdefault("num", num)
    translated = get_translations().unpgettext(context, singular, plural, num)
    return _shown(eval_ctx, translated, variables)


def lazy_gettext(string: str, **variables) -> LazyString:
    """Translated when shown, in the language of the page or email showing it."""
    return LazyString(gettext, string, **variables)


def lazy_pgettext(context: str, string: str, **variables) -> LazyString:
    return LazyString(pgettext, context, string, **variables)
