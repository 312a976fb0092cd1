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

Long on purpose: one report built from one `_reached` base; its few statements read best together.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa

from schoolmgr import timeutils
from schoolmgr.charts import percent
from schoolmgr.errors import DomainError
from schoolmgr.evaluations.reporting import module_score_trends
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.models import (
    ATTENDED_STATUSES,
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
    evaluation_trends: list[TrendRow] = field(default_factory=list)
    generated_at: datetime = field(default_factory=utcnow)

    @property
    def show_kosovo_note(self) -> bool:
        return any(row.key == Country.KOSOVO.value for row in self.by_country) or (
            Country.KOSOVO in self.filters.countries
        )


# --- evaluation scores ------------------------------------------------------------------------


def evaluation_trends(filters: ReportFilters) -> list[TrendRow]:
    """Evaluation scores per catalogue module and year (mean of the modules' 1–5 ratings).

    Answers are anonymous, so the countries filter cannot apply to them: the page says so.
    """
    rows = module_score_trends(
        list(filters.years) or None, [kind.value for kind in filters.kinds] or None
    )
    return [TrendRow(r.module_name, r.year, r.mean, r.answers) for r in rows]


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
    """Accepted registrations in the selection, with what the reports count them by.

    Each statement below refers to it several times, so the database computes it once per
    statement (SQLite and PostgreSQL materialise a CTE used more than once).
    """
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
        )
        .join(User, User.id == Registration.user_id)
        .join(Edition, Edition.id == Registration.edition_id)
        .where(Registration.status == RegistrationStatus.ACCEPTED, *_edition_conditions(filters))
    )
    if filters.countries:
        query = query.where(User.country.in_(filters.countries))
    return query.cte("reached")


# --- who was reached: one statement --------------------------------------------------------------


def _people_figures(reached: sa.CTE) -> dict[str, list[tuple]]:
    """Totals, breakdowns, years and returning people, in one UNION ALL over `reached`.

    Rows are (section, key, a, b, c, d); what a-d hold depends on the section.
    """
    # Country, gender and institution type belong to the person, so grouping by person first
    # lets every breakdown count people without COUNT(DISTINCT).
    per_person = (
        sa.select(
            reached.c.user_id,
            reached.c.country,
            reached.c.gender,
            reached.c.institution_type,
            sa.func.count().label("editions"),
        )
        .group_by(
            reached.c.user_id, reached.c.country, reached.c.gender, reached.c.institution_type
        )
        .cte("per_person")
    )
    nth = sa.func.row_number().over(
        partition_by=reached.c.user_id, order_by=(reached.c.start_date, reached.c.edition_id)
    )
    ranked = sa.select(
        reached.c.year, reached.c.edition_id, reached.c.user_id, nth.label("nth")
    ).subquery("ranked")
    zero = sa.literal(0)

    def key(column):
        return sa.cast(column, sa.String)

    def section(name: str):
        return sa.literal(name).label("section")

    def breakdown(name: str):
        column = per_person.c[name]
        return sa.select(
            section(name),
            key(column),
            sa.func.sum(per_person.c.editions),
            sa.func.count(),
            zero,
            zero,
        ).group_by(column)

    bucket = sa.case((per_person.c.editions >= 4, 4), else_=per_person.c.editions)
    statement = sa.union_all(
        sa.select(
            section("totals"),
            key(sa.null()),
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(per_person.c.editions), 0),
            sa.func.coalesce(sa.func.sum(sa.case((per_person.c.editions > 1, 1), else_=0)), 0),
            zero,
        ),
        breakdown("country"),
        breakdown("gender"),
        breakdown("institution_type"),
        sa.select(
            section("year"),
            key(ranked.c.year),
            sa.func.count(sa.distinct(ranked.c.edition_id)),
            sa.func.count(),
            sa.func.count(sa.distinct(ranked.c.user_id)),
            sa.func.sum(sa.case((ranked.c.nth == 1, 1), else_=0)),
        ).group_by(ranked.c.year),
        sa.select(section("returning"), key(bucket), sa.func.count(), zero, zero, zero).group_by(
            bucket
        ),
    )
    sections: dict[str, list[tuple]] = {}
    for name, k, a, b, c, d in db.session.execute(statement):
        sections.setdefault(name, []).append(
            (k, int(a or 0), int(b or 0), int(c or 0), int(d or 0))
        )
    return sections


def _breakdown(rows: list[tuple], members: Sequence) -> list[BreakdownRow]:
    """Rows in the enum's order, "not answered" last."""
    counts = {k: (a, b) for k, a, b, _c, _d in rows}
    result = [
        BreakdownRow(m.value, m.label, *counts[m.value]) for m in members if m.value in counts
    ]
    if None in counts:
        result.append(BreakdownRow("", _("Not answered"), *counts[None]))
    return result


def _int_key(value) -> int:
    return int(float(value))  # PostgreSQL's EXTRACT gives a numeric ("2019" or "2019.0")


# --- attendance and certificates: one statement for editions, one for modules ------------------


def _module_stats(reached: sa.CTE, filters: ReportFilters, now: datetime) -> sa.CTE:
    """Per edition module of the selection: participants planned, certified, planned
    participant-sessions (ended sessions only) and credited ones."""
    current_certificate = sa.and_(
        Certificate.registration_id == reached.c.registration_id,
        Certificate.superseded_at.is_(None),
        Certificate.revoked_at.is_(None),
    )
    certified = sa.func.count(Certificate.id)  # at most one current certificate each
    per_edition = (
        sa.select(
            reached.c.edition_id,
            sa.func.count().label("participants"),
            certified.label("certified"),
        )
        .select_from(reached)
        .outerjoin(Certificate, current_certificate)
        .group_by(reached.c.edition_id)
        .subquery("per_edition")
    )
    chosen = (
        sa.select(
            registration_modules.c.edition_module_id,
            sa.func.count().label("participants"),
            certified.label("certified"),
        )
        .select_from(reached)
        .join(
            registration_modules,
            registration_modules.c.registration_id == reached.c.registration_id,
        )
        .outerjoin(Certificate, current_certificate)
        .where(reached.c.module_choice.is_(True))
        .group_by(registration_modules.c.edition_module_id)
        .subquery("chosen")
    )
    ended = (
        sa.select(Session.edition_module_id, sa.func.count().label("sessions"))
        .where(Session.ends_at <= now)
        .group_by(Session.edition_module_id)
        .subquery("ended")
    )
    chose_module = (
        sa.select(registration_modules.c.registration_id)
        .where(
            registration_modules.c.registration_id == reached.c.registration_id,
            registration_modules.c.edition_module_id == Session.edition_module_id,
        )
        .exists()
    )
    credited = (
        sa.select(Session.edition_module_id, sa.func.count().label("credited"))
        .select_from(Attendance)
        .join(reached, reached.c.registration_id == Attendance.registration_id)
        .join(Session, Session.id == Attendance.session_id)
        .where(
            Session.ends_at <= now,
            sa.or_(
                Attendance.status.in_(ATTENDED_STATUSES),
                sa.and_(
                    Attendance.status == AttendanceStatus.EXCUSED,
                    reached.c.excused_counts_as_attended.is_(True),
                ),
            ),
            sa.or_(reached.c.module_choice.is_(False), chose_module),
        )
        .group_by(Session.edition_module_id)
        .subquery("credited")
    )
    by_choice = Edition.module_choice.is_(True)
    participants = sa.func.coalesce(
        sa.case((by_choice, chosen.c.participants), else_=per_edition.c.participants), 0
    )
    return (
        sa.select(
            EditionModule.id.label("edition_module_id"),
            EditionModule.edition_id,
            EditionModule.module_id,
            Edition.end_date,
            participants.label("participants"),
            sa.func.coalesce(
                sa.case((by_choice, chosen.c.certified), else_=per_edition.c.certified), 0
            ).label("certified"),
            (participants * sa.func.coalesce(ended.c.sessions, 0)).label("planned"),
            sa.func.coalesce(credited.c.credited, 0).label("credited"),
        )
        .join(Edition, Edition.id == EditionModule.edition_id)
        .outerjoin(per_edition, per_edition.c.edition_id == EditionModule.edition_id)
        .outerjoin(chosen, chosen.c.edition_module_id == EditionModule.id)
        .outerjoin(ended, ended.c.edition_module_id == EditionModule.id)
        .outerjoin(credited, credited.c.edition_module_id == EditionModule.id)
        .where(*_edition_conditions(filters))
        .cte("module_stats")
    )


def _rates(
    filters: ReportFilters, reached: sa.CTE, now: datetime
) -> tuple[list[RateRow], list[RateRow]]:
    """Editions and catalogue modules with their rates, in one UNION ALL over the module stats
    (so the attendance marks are read once)."""
    stats = _module_stats(reached, filters, now)
    people = (
        sa.select(
            reached.c.edition_id,
            sa.func.count().label("participants"),
            sa.func.count(sa.distinct(reached.c.country)).label("countries"),
            sa.func.sum(sa.case((reached.c.gender == Gender.WOMAN, 1), else_=0)).label("women"),
            sa.func.sum(sa.case((reached.c.gender == Gender.MAN, 1), else_=0)).label("men"),
            sa.func.count(Certificate.id).label("certified"),
        )
        .select_from(reached)
        .outerjoin(
            Certificate,
            sa.and_(
                Certificate.registration_id == reached.c.registration_id,
                Certificate.superseded_at.is_(None),
                Certificate.revoked_at.is_(None),
            ),
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
    editions = (
        sa.select(
            sa.literal("edition").label("section"),
            Edition.id.label("key"),
            Edition.title.label("name"),
            Edition.slug,
            Edition.kind,
            Edition.start_date,
            Edition.end_date,
            *(
                sa.func.coalesce(people.c[name], 0).label(name)
                for name in ("participants", "certified", "countries", "women", "men")
            ),
            sa.func.coalesce(attendance.c.planned, 0).label("planned"),
            sa.func.coalesce(attendance.c.credited, 0).label("credited"),
            sa.literal(1).label("editions"),
        )
        .outerjoin(people, people.c.edition_id == Edition.id)
        .outerjoin(attendance, attendance.c.edition_id == Edition.id)
        .where(*_edition_conditions(filters))
    )
    zero = sa.literal(0)
    modules = (
        sa.select(
            sa.literal("module"),
            Module.id,
            Module.name,
            sa.literal(""),
            sa.null(),
            sa.null(),
            sa.func.max(stats.c.end_date),
            sa.func.sum(stats.c.participants),
            sa.func.sum(stats.c.certified),
            zero,
            zero,
            zero,
            sa.func.sum(stats.c.planned),
            sa.func.sum(stats.c.credited),
            sa.func.count(sa.distinct(stats.c.edition_id)),
        )
        .join(stats, stats.c.module_id == Module.id)
        .group_by(Module.id, Module.name)
    )
    today = timeutils.today(now=now)
    found: dict[str, list[RateRow]] = {"edition": [], "module": []}
    for row in db.session.execute(sa.union_all(editions, modules)):
        found[row.section].append(
            RateRow(
                key=row.key,
                name=row.name,
                slug=row.slug,
                kind=row.kind,
                start_date=row.start_date,
                end_date=row.end_date if row.section == "edition" else None,
                participants=int(row.participants),
                certified=int(row.certified),
                countries=int(row.countries),
                women=int(row.women),
                men=int(row.men),
                planned=int(row.planned),
                credited=int(row.credited),
                editions=int(row.editions),
                finished=row.end_date < today,
            )
        )
    found["edition"].sort(key=lambda r: (r.start_date, r.key), reverse=True)
    found["module"].sort(key=lambda r: (r.name, r.key))
    return found["edition"], found["module"]


def available_years() -> list[int]:
    """Years in which an edition (not a draft) starts, newest first: the filter's choices."""
    year = _year(Edition.start_date)
    return [
        _int_key(y)
        for y in db.session.scalars(
            sa.select(year)
            .where(Edition.status != EditionStatus.DRAFT)
            .group_by(year)
            .order_by(year.desc())
        )
    ]


def build_report(filters: ReportFilters, now: datetime | None = None) -> Report:
    """Every figure of the programme report for `filters`, in two queries at any size."""
    now = now or utcnow()
    reached = _reached(filters)
    figures = _people_figures(reached)
    editions, modules = _rates(filters, reached, now)
    ((_k, people, registrations, returning, _d),) = figures["totals"]
    returning_counts = {_int_key(k): a for k, a, _b, _c, _d in figures.get("returning", [])}
    return Report(
        filters=filters,
        totals=Totals(
            editions=len(editions),
            registrations=registrations,
            people=people,
            returning=returning,
            certified=sum(e.certified for e in editions),
        ),
        by_country=_breakdown(figures.get("country", []), list(Country)),
        by_gender=_breakdown(figures.get("gender", []), list(Gender)),
        by_institution_type=_breakdown(figures.get("institution_type", []), list(InstitutionType)),
        by_year=sorted(
            (YearRow(_int_key(k), a, b, c, d) for k, a, b, c, d in figures.get("year", [])),
            key=lambda y: y.year,
        ),
        returning=[(str(n) if n < 4 else "4+", returning_counts.get(n, 0)) for n in (1, 2, 3, 4)],
        editions=editions,
        modules=modules,
        evaluation_trends=evaluation_trends(filters),
        generated_at=now,
    )
