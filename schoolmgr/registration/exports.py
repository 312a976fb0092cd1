"""The staff export of an edition's registrations (CSV and Excel)."""

import csv
import io

from schoolmgr.exports import spreadsheet_safe
from schoolmgr.extensions import db
from schoolmgr.models import (
    KOSOVO_FOOTNOTE,
    Country,
    Edition,
    utcnow,
)
from schoolmgr.registration.review import RegistrationFilters, registrations_query
from schoolmgr.text import sorted_people

EXPORT_HEADER = [
    "Full name",
    "Email",
    "Country",
    "Institution",
    "Type of organisation",
    "Position",
    "Gender",
    "Status",
    "Waiting-list position",
    "Modules",
    "Motivation",
    "Needs",
    "Registered at (UTC)",
    "Consent at (UTC)",
]


def export_rows(edition: Edition) -> tuple[list[list], bool]:
    """Rows of the export (header first) and whether a Kosovo* footnote is needed."""
    registrations = sorted_people(
        db.session.scalars(registrations_query(edition, RegistrationFilters())).all(),
        name=lambda r: r.user.full_name,
    )
    all_modules = "; ".join(em.module.name for em in edition.edition_modules)
    rows: list[list] = [list(EXPORT_HEADER)]
    kosovo = False
    for r in registrations:
        kosovo |= r.user.country == Country.KOSOVO
        modules = "; ".join(em.module.name for em in r.modules) if edition.module_choice else ""
        rows.append(
            [
                r.user.full_name,
                r.user.email,
                r.user.country.label if r.user.country else "",
                r.user.institution,
                r.user.institution_type_label,
                r.user.position,
                r.user.gender_label,
                r.status.label,
                r.waitlist_position or "",
                modules or all_modules,
                r.motivation,
                r.needs,
                r.created_at.strftime("%Y-%m-%d %H:%M"),
                r.consent_at.strftime("%Y-%m-%d %H:%M"),
            ]
        )
    return rows, kosovo


def export_csv(edition: Edition) -> bytes:
    """CSV in UTF-8 with a byte-order mark, so that spreadsheet programs keep Cyrillic intact."""
    rows, kosovo = export_rows(edition)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(_defuse(rows))
    if kosovo:
        writer.writerow([])
        writer.writerow([str(KOSOVO_FOOTNOTE)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def export_xlsx(edition: Edition) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    rows, kosovo = export_rows(edition)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Registrations"
    for row in _defuse(rows):
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    widths = (28, 32, 22, 36, 24, 24, 16, 14, 10, 40, 40, 30, 18, 18)
    for column, width in zip("ABCDEFGHIJKLMN", widths, strict=True):
        sheet.column_dimensions[column].width = width
    if kosovo:
        sheet.append([])
        sheet.append([str(KOSOVO_FOOTNOTE)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _defuse(rows: list[list]) -> list[list]:
    return [[spreadsheet_safe(v) for v in row] for row in rows]


def export_filename(edition: Edition, extension: str) -> str:
    return f"registrations-{edition.slug}-{utcnow():%Y%m%d}.{extension}"
