"""Times are stored in UTC and shown in the edition's time zone."""

from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from flask import current_app

from schoolmgr.i18n import get_locale

# The days the school's calendar is for: editions, registration windows, sessions, seat
# releases, schedules. A day outside them is a typing slip (20255) or a probe, and the calendar
# has no room near the year 9999 for the weeks and time zones such a day goes through.
SCHOOL_DAYS = (date(2000, 1, 1), date(2099, 12, 31))


def zone(name: str | None = None) -> ZoneInfo:
    return ZoneInfo(name or current_app.config["DEFAULT_TIMEZONE"])


def local(dt: datetime | None, tz: str | ZoneInfo | None = None) -> datetime | None:
    if dt is None:
        return None
    tzinfo = tz if isinstance(tz, ZoneInfo) else zone(tz)
    return dt.astimezone(tzinfo)


def today(tz: str | ZoneInfo | None = None, now: datetime | None = None) -> date:
    """The calendar day where the school is (or an edition, given its zone): from 23:00 UTC in
    winter, Belgrade is already on the next day."""
    return local(now or datetime.now(UTC), tz).date()


def to_utc(day: date, at: time, tz: str | ZoneInfo) -> datetime:
    """A wall-clock time on a day in a zone, as an aware UTC datetime."""
    tzinfo = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    return datetime.combine(day, at, tzinfo=tzinfo).astimezone(UTC)


@lru_cache(maxsize=8192)
def _babel_date(value: date, form: str, locale: str | None) -> str:
    if form.startswith("skeleton:"):
        return babel_dates.format_skeleton(form.removeprefix("skeleton:"), value, locale=locale)
    return babel_dates.format_date(value, form, locale=locale)


def format_date(value: date, form: str) -> str:
    """A date in the visitor's language, in one of CLDR's forms ("long", "medium") or a
    "skeleton:..." whose order and punctuation the language decides ("13. februar 2027.").
    Pages show the same few dates over and over (cards, schedules, rosters), so each
    (date, form, language) is formatted by Babel only once."""
    return _babel_date(value, form, _locale_name())


def _locale_name() -> str | None:
    locale = get_locale()  # None outside an app context: Babel's default, as flask_babel does
    return str(locale) if locale is not None else None


# Times: "HH:mm" has no language-dependent part (Babel writes Latin digits in every locale),
# so it is plain strftime on the local time; dates go through the cached format_date.


def fmt_datetime(dt: datetime | None, tz: str | ZoneInfo | None = None) -> str:
    shown = local(dt, tz)
    if shown is None:
        return ""
    return f"{format_date(shown.date(), 'medium')}, {shown.strftime('%H:%M')}"


def fmt_time(dt: datetime | None, tz: str | ZoneInfo | None = None) -> str:
    shown = local(dt, tz)
    return shown.strftime("%H:%M") if shown else ""


def fmt_date(value: date | datetime | str | None, tz: str | ZoneInfo | None = None) -> str:
    """A date for people; also takes an ISO date string (as stored in certificate snapshots)."""
    if not value:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if isinstance(value, datetime):
        value = local(value, tz).date()
    return format_date(value, "long")


def fmt_date_range(start: date, end: date) -> str:
    """ "14–18 September 2019", "28 September – 2 October 2020", one day when equal; each
    language orders and punctuates its own ("14–18. septembar 2019.")."""
    return _date_range(start, end, _locale_name())


@lru_cache(maxsize=4096)
def _date_range(start: date, end: date, locale: str | None) -> str:
    def fmt(value: date, form: str) -> str:
        return _babel_date(value, form, locale)

    if start == end:
        return fmt(start, "long")
    if (start.year, start.month) == (end.year, end.month):
        return f"{fmt(start, 'skeleton:d')}–{fmt(end, 'long')}"
    if start.year == end.year:
        return f"{fmt(start, 'skeleton:MMMMd')} – {fmt(end, 'long')}"
    return f"{fmt(start, 'long')} – {fmt(end, 'long')}"
