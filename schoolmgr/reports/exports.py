"""The report as plain values (page, PDF), as a funder PDF and as an XLSX workbook.

`present(report)` turns the aggregated report into the plain strings, tables and SVG charts that
both the page and the PDF show, so the three outputs cannot disagree on a figure.
"""

import io

from schoolmgr import pdf
from schoolmgr.charts import Bar, bar_chart, percent_text
from schoolmgr.exports import spreadsheet_safe
from schoolmgr.i18n import fmt_decimal, ngettext
from schoolmgr.i18n import gettext as _
from schoolmgr.models import KOSOVO_FOOTNOTE, EditionKind
from schoolmgr.reports.services import RateRow, Report
from schoolmgr.timeutils import fmt_date_range

PDF_TEMPLATE = "reports/funder_pdf.html"
PDF_STYLESHEETS = ("css/report.css",)
SCHOOL_NAME = "Regional School of Public Administration"


def _rate(value: float | None) -> str:
    return percent_text(value)


def _breakdown_chart(rows, title: str) -> object:
    total = sum(r.people for r in rows)
    return bar_chart(
        [
            Bar(
                r.label, r.people, f"{r.people} ({percent_text(100 * r.people / total)})", not r.key
            )
            for r in rows
        ],
        title=title,
        description=_(
            "Unique people: %(figures)s.", figures="; ".join(f"{r.label} {r.people}" for r in rows)
        )
        if rows
        else _("No participants in this selection."),
    )


def edition_text(row: RateRow) -> str:
    """A short factual paragraph about one edition, for the funder report."""
    parts = [
        ngettext(
            "%(num)d participant from %(countries)d country",
            "%(num)d participants from %(countries)d countries",
            row.participants,
            countries=row.countries,
        )
        if row.participants
        else _("No accepted participants")
    ]
    if row.participants:
        parts.append(
            ngettext("%(num)d woman", "%(num)d women", row.women)
            + ", "
            + ngettext("%(num)d man", "%(num)d men", row.men)
        )
    if row.attendance_rate is not None:
        parts.append(_("attendance %(rate)s", rate=_rate(row.attendance_rate)))
    if row.finished:
        parts.append(
            ngettext(
                "%(num)d certificate (%(rate)s)",
                "%(num)d certificates (%(rate)s)",
                row.certified,
                rate=_rate(row.certificate_rate),
            )
        )
    elif row.participants:
        parts.append(_("not finished yet"))
    return "; ".join(parts) + "."


def _rate_rows(rows: list[RateRow], with_text: bool = False) -> list[dict]:
    kinds = {kind: kind.label for kind in EditionKind}  # translated once, not once per row
    return [
        {
            "name": r.name,
            "kind": kinds[r.kind] if r.kind else "",
            "dates": fmt_date_range(r.start_date, r.end_date) if r.start_date else "",
            "editions": r.editions,
            "participants": r.participants,
            "attendance": _rate(r.attendance_rate),
            "certified": r.certified if r.finished else "–",
            "certificates": _rate(r.certificate_rate),
            "text": edition_text(r) if with_text and r.start_date else "",
        }
        for r in rows
    ]


def present(report: Report, for_pdf: bool = False) -> dict:
    """Plain values for the page and the PDF: figures as text, tables, charts as SVG (and a
    paragraph per edition for the PDF)."""
    totals = report.totals
    by_year_chart = bar_chart(
        [Bar(str(y.year), y.people) for y in report.by_year],
        title=_("Unique participants per year"),
        orientation="vertical",
    )
    rate_bars = [
        Bar(r.name, round(r.attendance_rate), _rate(r.attendance_rate))
        for r in report.modules
        if r.attendance_rate is not None
    ]
    trends = report.evaluation_trends
    return {
        "filters_text": report.filters.describe(),
        "generated_on": f"{report.generated_at:%Y-%m-%d %H:%M} UTC",
        "totals": [
            ("people", _("Unique people reached"), totals.people),
            ("registrations", _("Participations (accepted registrations)"), totals.registrations),
            ("returning", _("Returning participants (more than one edition)"), totals.returning),
            ("editions", _("Editions"), totals.editions),
            ("certified", _("Certificates held"), totals.certified),
        ],
        "by_country": report.by_country,
        "by_gender": report.by_gender,
        "by_institution_type": report.by_institution_type,
        "by_year": report.by_year,
        "returning": report.returning,
        "editions": _rate_rows(report.editions, with_text=for_pdf),
        "modules": _rate_rows(report.modules),
        "trends": trends,
        "charts": {
            "country": _breakdown_chart(report.by_country, _("Participants by country")),
            "gender": _breakdown_chart(report.by_gender, _("Participants by gender")),
            "institution_type": _breakdown_chart(
                report.by_institution_type, _("Participants by type of organisation")
            ),
            "year": by_year_chart,
            "module_attendance": bar_chart(
                rate_bars,
                title=_("Attendance rate per module"),
                max_value=100,
                description=_(
                    "Attendance rate per module: %(figures)s.",
                    figures="; ".join(f"{b.label} {b.text}" for b in rate_bars),
                )
                if rate_bars
                else _("No sessions have ended in this selection."),
            ),
            "trends": _trend_chart(trends) if trends else None,
        },
        "show_kosovo_note": report.show_kosovo_note,
        "for_pdf": for_pdf,
        "kosovo_footnote": str(KOSOVO_FOOTNOTE),
    }


def _trend_chart(trends) -> object:
    bars = [Bar(f"{t.module} {t.year}", t.mean, fmt_decimal(t.mean, 2)) for t in trends]
    return bar_chart(bars, title=_("Mean evaluation score per module and year (1–5)"), max_value=5)


# --- funder PDF --------------------------------------------------------------------------------


def funder_pdf(report: Report) -> bytes:
    """The one-click report for funders: figures, charts, a paragraph per edition."""
    context = {"r": present(report, for_pdf=True), "school_name": SCHOOL_NAME}
    return pdf.render_pdf(PDF_TEMPLATE, context, PDF_STYLESHEETS)


# --- XLSX --------------------------------------------------------------------------------------


def workbook(report: Report) -> bytes:
    """The report's figures, one sheet per table, as an Excel workbook."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    view = present(report)

    def sheet(title: str, header: list[str], rows: list[list], note: str = ""):
        ws = book.create_sheet(title)
        ws.append(header)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append([spreadsheet_safe(v) for v in row])
        if note:
            ws.append([])
            ws.append([note])
        ws.freeze_panes = "A2"
        ws.column_dimensions["A"].width = 48
        return ws

    summary = book.active
    summary.title = "Summary"
    summary.append([_("Programme report"), SCHOOL_NAME])
    summary.append([_("Selection"), view["filters_text"]])
    summary.append([_("Generated"), view["generated_on"]])
    summary.append([])
    for _key, label, value in view["totals"]:
        summary.append([label, value])
    summary.column_dimensions["A"].width = 48
    summary.column_dimensions["B"].width = 60

    note = view["kosovo_footnote"] if view["show_kosovo_note"] else ""
    for title, rows, extra in (
        ("By country", report.by_country, note),
        ("By gender", report.by_gender, ""),
        ("By organisation type", report.by_institution_type, ""),
    ):
        sheet(
            title,
            [_("Group"), _("Participations"), _("Unique people")],
            [[r.label, r.registrations, r.people] for r in rows],
            extra,
        )
    sheet(
        "By year",
        [_("Year"), _("Editions"), _("Participations"), _("Unique people"), _("New people")],
        [[y.year, y.editions, y.registrations, y.people, y.new_people] for y in report.by_year],
    )
    sheet(
        "Returning",
        [_("Editions attended"), _("People")],
        [[label, n] for label, n in report.returning],
    )
    sheet(
        "Editions",
        [
            _("Edition"),
            _("Kind"),
            _("Start"),
            _("End"),
            _("Participants"),
            _("Attendance rate (%)"),
            _("Certificates"),
            _("Certificate rate (%)"),
        ],
        [
            [
                r.name,
                r.kind.label if r.kind else "",
                r.start_date,
                r.end_date,
                r.participants,
                _round(r.attendance_rate),
                r.certified if r.finished else None,
                _round(r.certificate_rate),
            ]
            for r in report.editions
        ],
    )
    sheet(
        "Modules",
        [
            _("Module"),
            _("Editions"),
            _("Participants"),
            _("Attendance rate (%)"),
            _("Certificates"),
            _("Certificate rate (%)"),
        ],
        [
            [
                r.name,
                r.editions,
                r.participants,
                _round(r.attendance_rate),
                r.certified if r.finished else None,
                _round(r.certificate_rate),
            ]
            for r in report.modules
        ],
    )
    sheet(
        "Evaluation scores",
        [_("Module"), _("Year"), _("Mean score (1–5)"), _("Answers")],
        [[t.module, t.year, round(t.mean, 2), t.answers] for t in report.evaluation_trends],
    )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _round(value: float | None) -> int | None:
    """The same rounding as the page's "87%" (so both show the same number)."""
    return None if value is None else int(f"{value:.0f}")
