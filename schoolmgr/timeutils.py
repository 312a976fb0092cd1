"""Times are stored in UTC and shown in the edition's time zone."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import format_date, format_datetime, format_time


def zone(name: str | None = None) -> ZoneInfo:
    return ZoneInfo(name or current_app.config["DEFAULT_TIMEZONE"])


def local(dt: datetime | None, tz: str | ZoneInfo | None = None) -> datetime | None:
    if dt is None:
        return None
    tzinfo = tz if isinstance(tz, ZoneInfo) else zone(tz)
    return dt.astimezone(tzinfo)


def to_utc(day: date, at: time, tz: str | ZoneInfo) -> datetime:
    """A wall-clock time on a day in a zone, as an aware UTC datetime."""
    tzinfo = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    return datetime.combine(day, at, tzinfo=tzinfo).astimezone(UTC)


def fmt_datetime(dt: datetime | None, tz: str | ZoneInfo | None = None) -> str:
    shown = local(dt, tz)
    return format_datetime(shown.replace(tzinfo=None), "d MMM yyyy, HH:mm") if shown else ""


def fmt_time(dt: datetime | None, tz: str | ZoneInfo | None = None) -> str:
    shown = local(dt, tz)
    return format_time(shown.replace(tzinfo=None), "HH:mm") if shown else ""


def fmt_date(value: date | datetime | None, tz: str | ZoneInfo | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = local(value, tz).date()
    return format_date(value, "d MMMM yyyy")


def fmt_date_range(start: date, end: date) -> str:
    """ "14–18 September 2019", "28 September – 2 October 2020", one day when equal."""
    if start == end:
        return format_date(start, "d MMMM yyyy")
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{format_date(end, 'd MMMM yyyy')}"
    if start.year == end.year:
        return f"{format_date(start, 'd MMMM')} – {format_date(end, 'd MMMM yyyy')}"
    return f"{format_date(start, 'd MMMM yyyy')} – {format_date(end, 'd MMMM yyyy')}"
