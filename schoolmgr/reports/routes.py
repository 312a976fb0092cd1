"""Staff reports: the programme's figures across editions and years, as a page, PDF and XLSX."""

from flask import Blueprint, Response, render_template, request

from schoolmgr.auth.access import role_required
from schoolmgr.errors import show_on_form
from schoolmgr.models import Role, utcnow
from schoolmgr.reports import exports, services
from schoolmgr.reports.forms import ReportFilterForm

bp = Blueprint("reports", __name__, url_prefix="/staff/reports")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filters() -> tuple[ReportFilterForm, services.ReportFilters | None]:
    """The filter form from the URL, and the filters when they are valid."""
    form = ReportFilterForm(request.args, years=services.available_years())
    if not form.validate():
        return form, None
    try:
        filters = services.ReportFilters.parse(form.year.data, form.kind.data, form.country.data)
    except services.ReportError as err:
        show_on_form(form, err, default="year")
        return form, None
    return form, filters


def _page(form, filters, status: int = 200):
    report = services.build_report(filters or services.ReportFilters())
    return render_template(
        "reports/index.html",
        form=form,
        report=report,
        r=exports.present(report),
        download_args=report.filters.query_args(),
        filtered=filters is not None and not filters.is_empty,
    ), status


@bp.route("/")
@role_required(Role.STAFF)
def index():
    """The report page with its filters; bad filters show the whole programme and a 400."""
    form, filters = _filters()
    return _page(form, filters, 200 if filters is not None else 400)


def _download(content: bytes, mimetype: str, extension: str) -> Response:
    response = Response(content, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="programme-report-{utcnow():%Y%m%d}.{extension}"'
    )
    return response


@bp.route("/funder-report.pdf")
@role_required(Role.STAFF)
def funder_pdf():
    """The funder report as PDF, for the same filters as the page."""
    form, filters = _filters()
    if filters is None:
        return _page(form, filters, 400)
    return _download(exports.funder_pdf(services.build_report(filters)), "application/pdf", "pdf")


@bp.route("/report.xlsx")
@role_required(Role.STAFF)
def xlsx():
    """The report's figures as an Excel workbook, for the same filters as the page."""
    form, filters = _filters()
    if filters is None:
        return _page(form, filters, 400)
    return _download(exports.workbook(services.build_report(filters)), XLSX, "xlsx")
