"""Programme reports across editions and years: who we reached, who came, who was certified.

Every figure is an aggregate computed by the database (GROUP BY, a window function, CTEs) in a
fixed number of queries, whatever the number of registrations; Python only arranges the
aggregated rows. The base of every count is `_reached`: accepted registrations of the editions
in the filters (drafts excluded), of participants from the chosen countries.

Definitions (also printed on the page and in the exports):
- participants reached: accepted registrations; unique people: distinct accounts among them.
- returning participants: people with accepted registrations in more than one edition of the
  selection.
- attendance rate: credited participant-sessions over planned ones, for sessions that have
  ended (the same rule as the attendance pages: every accepted participant is planned at every
  session of the modules they attend; late counts, excused counts when the edition says so).
- certificate rate: participants holding a current, not revoked certificate over participants,
  for editions that have ended.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from schoolmgr.charts import percent
from schoolmgr.errors import DomainError
from schoolmgr.extensions import db
from schoolmgr.models import (
    Attendance,
    AttendanceStatus,
    Certificate,
    Country,
    Edition,
    EditionKind,
    EditionModule,
    EditionStatus,
    Gender,
    InstitutionType,
    Module,
    Registration,
    RegistrationStatus,
    Session,
    User,
    registration_modules,
    utcnow,
)


class ReportError(DomainError):
    """Codes: bad_filter."""


@dataclass(frozen=True)
class ReportFilters:
    years: tuple[int, ...] = ()
    kinds: tuple[EditionKind, ...] = ()
    countries: tuple[Country, ...] = ()

    @classmethod
    def parse(cls, years=(), kinds=(), countries=()) -> "ReportFilters":
        """Filters from raw values (the form has checked their shape)."""
        try:
            return cls(
                years=tuple(sorted({int(y) for y in years})),
                kinds=tuple(EditionKind(k) for k in dict.fromkeys(kinds)),
                countries=tuple(Country(c) for c in dict.fromkeys(countries)),
            )
        except ValueError as err:
            raise ReportError(_("One of the filters is not valid."), "bad_filter") from err

    @property
    def is_empty(self) -> bool:
        return not (self.years or self.kinds or self.countries)

    def describe(self) -> str:
        """The filters in words, for headings and exports."""
        parts = [
            _("Years: %(v)s", v=", ".join(map(str, self.years))) if self.years else _("All years"),
            _("Kinds: %(v)s", v=", ".join(k.label for k in self.kinds))
            if self.kinds
            else _("all kinds of edition"),
            _("Countries: %(v)s", v=", ".join(c.label for c in self.countries))
            if self.countries
            else _("all countries"),
        ]
        return "; ".join(parts)

    def query_args(self) -> dict[str, list[str]]:
        """The filters as URL arguments, so the downloads carry the same selection."""
        return {
            "year": [str(y) for y in self.years],
            "kind": [k.value for k in self.kinds],
            "country": [c.value for c in self.countries],
        }


@dataclass(frozen=True)
class Totals:
    editions: int
    registrations: int
    people: int
    returning: int
    certified: int


@dataclass(frozen=True)
class BreakdownRow:
    key: str  # the stored value, "" for "not answered"
    label: str
    registrations: int
    people: int


@dataclass(frozen=True)
class YearRow:
    year: int
    editions: int
    registrations: int
    people: int
    new_people: int  # people whose first edition of the selection is in this year


@dataclass(frozen=True)
class RateRow:
    """One edition or one catalogue module, with its attendance and certificate rates."""

    key: int
    name: str
    participants: int
    planned: int
    credited: int
    certified: int
    finished: bool  # certificates can be expected (the edition, or every edition, has ended)
    editions: int = 1
    kind: EditionKind | None = None
    start_date: date | None = None
    end_date: date | None = None
    slug: str = ""
    countries: int = 0
    women: int = 0
    men: int = 0

    @property
    def attendance_rate(self) -> float | None:
        return percent(self.credited, self.planned)

    @property
    def certificate_rate(self) -> float | None:
        return percent(self.certified, self.participants) if self.finished else None


@dataclass(frozen=True)
class TrendRow:
    """Evaluation score of one catalogue module in one year (from the evaluations area)."""

    module: str
    year: int
    mean: float
    answers: int


@dataclass
class Report:
    filters: ReportFilters
    totals: Totals
    by_country: list[BreakdownRow]
    by_gender: list[BreakdownRow]
    by_institution_type: list[BreakdownRow]
    by_year: list[YearRow]
    returning: list[tuple[str, int]]  # ("1", people), ("2", ...), ("4+", ...)
    editions: list[RateRow]
    modules: list[RateRow]
    # None until the evaluations area is wired in (see `evaluation_trends`).
    evaluation_trends: list[TrendRow] | None = None
    generated_at: datetime = field(default_factory=utcnow)

    @property
    def show_kosovo_note(self) -> bool:
        return any(row.key == Country.KOSOVO.value for row in self.by_country) or (
            Country.KOSOVO in self.filters.countries
        )


# --- the one place where evaluation scores come in ---------------------------------------------

# Set by the evaluations area once it exists: a callable (years, kinds) -> iterable of rows with
# module name, year, mean rating and number of answers. Until then the report has no such
# section (no invented figures). Wiring it is one line in `evaluation_trends` below.
EvaluationSource = Callable[[list[int] | None, list[str] | None], Sequence]


def evaluation_trends(filters: ReportFilters) -> list[TrendRow] | None:
    """Evaluation scores per catalogue module and year, or None while no source exists.

    To wire the evaluations area, replace the body with:
        from schoolmgr.evaluations.services import module_score_trends
        rows = module_score_trends(list(filters.years) or None,
                                   [k.value for k in filters.kinds] or None)
        return [TrendRow(module=..., year=..., mean=..., answers=...) for r in rows]
    The page, the funder PDF and the XLSX then show the section (templates/reports/
    _evaluations.html and `exports.workbook`); tests/test_reports.py covers them with rows.
    """
    return None


# --- building the report -----------------------------------------------------------------------


def _year(column):
    return sa.extract("year", column)


def _edition_conditions(filters: ReportFilters) -> list:
    conditions = [Edition.status != EditionStatus.DRAFT]
    if filters.years:
        conditions.append(_year(Edition.start_date).in_(filters.years))
    if filters.kinds:
        conditions.append(Edition.kind.in_(filters.kinds))
    return conditions


def _reached(filters: ReportFilters) -> sa.CTE:
    """Accepted registrations in the selection, with what the reports count them by."""
    certified = (
        sa.select(Certificate.id)
        .where(
            Certificate.registration_id == Registration.id,
            Certificate.superseded_at.is_(None),
            Certificate.revoked_at.is_(None),
        )
        .exists()
    )
    query = (
        sa.select(
            Registration.id.label("registration_id"),
            Registration.user_id,
            Registration.edition_id,
            User.country,
            User.gender,
            User.institution_type,
            _year(Edition.start_date).label("year"),
            Edition.start_date,
            Edition.module_choice,
            Edition.excused_counts_as_attended,
            sa.case((certified, 1), else_=0).label("certified"),
        )
        .join(User, User.id == Registration.user_id)
        .join(Edition, Edition.id == Registration.edition_id)
        .where(Registration.status == RegistrationStatus.ACCEPTED, *_edition_conditions(filters))
    )
    if filters.countries:
        query = query.where(User.country.in_(filters.countries))
    return query.cte("reached")


def _per_person(reached: sa.CTE):
    return (
        sa.select(
            reached.c.user_id,
            sa.func.count().label("editions"),
            sa.func.sum(reached.c.certified).label("certified"),
        )
        .group_by(reached.c.user_id)
        .subquery("per_person")
    )


def _totals(reached: sa.CTE, editions: int) -> Totals:
    people = _per_person(reached)
    row = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(people.c.editions), 0),
            sa.func.coalesce(sa.func.sum(sa.case((people.c.editions > 1, 1), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(people.c.certified), 0),
        ).select_from(people)
    ).one()
    return Totals(
        editions=editions,
        people=row[0],
        registrations=int(row[1]),
        returning=int(row[2]),
        certified=int(row[3]),
    )


def _breakdown(reached: sa.CTE, column: str, members: Sequence) -> list[BreakdownRow]:
    """Registrations and people per value of `column`, in the enum's order, unanswered last."""
    dimension = reached.c[column]
    counts = {
        value: (registrations, people)
        for value, registrations, people in db.session.execute(
            sa.select(
                dimension, sa.func.count(), sa.func.count(sa.distinct(reached.c.user_id))
            ).group_by(dimension)
        )
    }
    rows = [
        BreakdownRow(member.value, member.label, *counts[member])
        for member in members
        if member in counts
    ]
    if None in counts:
        rows.append(BreakdownRow("", _("Not answered"), *counts[None]))
    return rows


def _by_year(reached: sa.CTE) -> list[YearRow]:
    first = sa.func.row_number().over(
        partition_by=reached.c.user_id,
        order_by=(reached.c.start_date, reached.c.edition_id),
    )
    ranked = sa.select(
        reached.c.year, reached.c.edition_id, reached.c.user_id, first.label("nth")
    ).subquery("ranked")
    rows = db.session.execute(
        sa.select(
            ranked.c.year,
            sa.func.count(sa.distinct(ranked.c.edition_id)),
            sa.func.count(),
            sa.func.count(sa.distinct(ranked.c.user_id)),
            sa.func.sum(sa.case((ranked.c.nth == 1, 1), else_=0)),
        )
        .group_by(ranked.c.year)
        .order_by(ranked.c.year)
    )
    return [YearRow(int(y), e, r, p, int(n)) for y, e, r, p, n in rows]


def _returning(reached: sa.CTE) -> list[tuple[str, int]]:
    people = _per_person(reached)
    bucket = sa.case((people.c.editions >= 4, 4), else_=people.c.editions).label("bucket")
    counts = dict(
        db.session.execute(
            sa.select(bucket, sa.func.count()).select_from(people).group_by(bucket)
        ).all()
    )
    return [(str(n) if n < 4 else "4+", counts.get(n, 0)) for n in (1, 2, 3, 4)]


def _module_stats(reached: sa.CTE, now: datetime) -> sa.Subquery:
    """Per edition module: planned participants, certified ones, ended sessions, credited marks."""
    chose = (
        sa.select(registration_modules.c.registration_id)
        .where(
            registration_modules.c.registration_id == reached.c.registration_id,
            registration_modules.c.edition_module_id == EditionModule.id,
        )
        .exists()
    )
    pairs = (
        sa.select(
            reached.c.registration_id,
            reached.c.certified,
            reached.c.excused_counts_as_attended.label("excused_counts"),
            EditionModule.id.label("edition_module_id"),
            EditionModule.edition_id,
            EditionModule.module_id,
        )
        .join(EditionModule, EditionModule.edition_id == reached.c.edition_id)
        .where(sa.or_(reached.c.module_choice.is_(False), chose))
        .cte("pairs")
    )
    ended = (
        sa.select(Session.edition_module_id, sa.func.count().label("sessions"))
        .where(Session.ends_at <= now)
        .group_by(Session.edition_module_id)
        .subquery("ended")
    )
    credited = (
        sa.select(pairs.c.edition_module_id, sa.func.count().label("credited"))
        .select_from(pairs)
        .join(Session, Session.edition_module_id == pairs.c.edition_module_id)
        .join(
            Attendance,
            sa.and_(
                Attendance.session_id == Session.id,
                Attendance.registration_id == pairs.c.registration_id,
            ),
        )
        .where(
            Session.ends_at <= now,
            sa.or_(
                Attendance.status.in_([AttendanceStatus.PRESENT, AttendanceStatus.LATE]),
                sa.and_(
                    Attendance.status == AttendanceStatus.EXCUSED,
                    pairs.c.excused_counts.is_(True),
                ),
            ),
        )
        .group_by(pairs.c.edition_module_id)
        .subquery("credited")
    )
    per_module = (
        sa.select(
            pairs.c.edition_module_id,
            pairs.c.edition_id,
            pairs.c.module_id,
            sa.func.count().label("participants"),
            sa.func.sum(pairs.c.certified).label("certified"),
        )
        .group_by(pairs.c.edition_module_id, pairs.c.edition_id, pairs.c.module_id)
        .subquery("per_module")
    )
    sessions = sa.func.coalesce(ended.c.sessions, 0)
    return (
        sa.select(
            per_module.c.edition_module_id,
            per_module.c.edition_id,
            per_module.c.module_id,
            per_module.c.participants,
            per_module.c.certified,
            (per_module.c.participants * sessions).label("planned"),
            sa.func.coalesce(credited.c.credited, 0).label("credited"),
        )
        .outerjoin(ended, ended.c.edition_module_id == per_module.c.edition_module_id)
        .outerjoin(credited, credited.c.edition_module_id == per_module.c.edition_module_id)
        .subquery("module_stats")
    )


def _editions(
    filters: ReportFilters, reached: sa.CTE, stats: sa.Subquery, today: date
) -> list[RateRow]:
    people = (
        sa.select(
            reached.c.edition_id,
            sa.func.count().label("participants"),
            sa.func.sum(reached.c.certified).label("certified"),
            sa.func.count(sa.distinct(reached.c.country)).label("countries"),
            sa.func.sum(sa.case((reached.c.gender == Gender.WOMAN, 1), else_=0)).label("women"),
            sa.func.sum(sa.case((reached.c.gender == Gender.MAN, 1), else_=0)).label("men"),
        )
        .group_by(reached.c.edition_id)
        .subquery("people")
    )
    attendance = (
        sa.select(
            stats.c.edition_id,
            sa.func.sum(stats.c.planned).label("planned"),
            sa.func.sum(stats.c.credited).label("credited"),
        )
        .group_by(stats.c.edition_id)
        .subquery("attendance")
    )
    rows = db.session.execute(
        sa.select(
            Edition.id,
            Edition.title,
            Edition.slug,
            Edition.kind,
            Edition.start_date,
            Edition.end_date,
            sa.func.coalesce(people.c.participants, 0).label("participants"),
            sa.func.coalesce(people.c.certified, 0).label("certified"),
            sa.func.coalesce(people.c.countries, 0).label("countries"),
            sa.func.coalesce(people.c.women, 0).label("women"),
            sa.func.coalesce(people.c.men, 0).label("men"),
            sa.func.coalesce(attendance.c.planned, 0).label("planned"),
            sa.func.coalesce(attendance.c.credited, 0).label("credited"),
        )
        .outerjoin(people, people.c.edition_id == Edition.id)
        .outerjoin(attendance, attendance.c.edition_id == Edition.id)
        .where(*_edition_conditions(filters))
        .order_by(Edition.start_date.desc(), Edition.id.desc())
    )
    return [
        RateRow(
            key=row.id,
            name=row.title,
            slug=row.slug,
            kind=row.kind,
            start_date=row.start_date,
            end_date=row.end_date,
            participants=row.participants,
            certified=int(row.certified),
            countries=row.countries,
            women=int(row.women),
            men=int(row.men),
            planned=int(row.planned),
            credited=int(row.credited),
            finished=row.end_date < today,
        )
        for row in rows
    ]


def _modules(stats: sa.Subquery, today: date) -> list[RateRow]:
    rows = db.session.execute(
        sa.select(
            Module.id,
            Module.name,
            sa.func.count(sa.distinct(stats.c.edition_id)),
            sa.func.sum(stats.c.participants),
            sa.func.sum(stats.c.planned),
            sa.func.sum(stats.c.credited),
            sa.func.sum(stats.c.certified),
            sa.func.max(Edition.end_date),
        )
        .join(stats, stats.c.module_id == Module.id)
        .join(Edition, Edition.id == stats.c.edition_id)
        .group_by(Module.id, Module.name)
        .order_by(Module.name, Module.id)
    )
    return [
        RateRow(
            key=mid,
            name=name,
            editions=editions,
            participants=int(n),
            planned=int(planned),
            credited=int(credited),
            certified=int(certified),
            finished=last_end < today,
        )
        for mid, name, editions, n, planned, credited, certified, last_end in rows
    ]


def available_years() -> list[int]:
    """Years in which an edition (not a draft) starts, newest first: the filter's choices."""
    year = _year(Edition.start_date)
    return [
        int(y)
        for y in db.session.scalars(
            sa.select(year)
            .where(Edition.status != EditionStatus.DRAFT)
            .group_by(year)
            .order_by(year.desc())
        )
    ]


def build_report(filters: ReportFilters, now: datetime | None = None) -> Report:
    """Every figure of the programme report for `filters`, in a fixed number of queries."""
    now = now or utcnow()
    reached = _reached(filters)
    stats = _module_stats(reached, now)
    editions = _editions(filters, reached, stats, now.date())
    return Report(
        filters=filters,
        totals=_totals(reached, editions=len(editions)),
        by_country=_breakdown(reached, "country", list(Country)),
        by_gender=_breakdown(reached, "gender", list(Gender)),
        by_institution_type=_breakdown(reached, "institution_type", list(InstitutionType)),
        by_year=_by_year(reached),
        returning=_returning(reached),
        editions=editions,
        modules=_modules(stats, now.date()),
        evaluation_trends=evaluation_trends(filters),
        generated_at=now,
    )
