"""Programme reports: figures counted by the database, the same on the page, in the PDF and XLSX.

The world: a 2019 seasonal school (three accepted participants, one rejected), a 2020 webinar
with module choice where excused absences do not count, an upcoming edition, and a draft that
never counts. One person came to both past editions.
"""

import io
import re
import subprocess
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from schoolmgr.models import (
    AttendanceStatus,
    Country,
    EditionKind,
    Gender,
    InstitutionType,
    RegistrationStatus,
    utcnow,
)
from schoolmgr.reports import services
from schoolmgr.reports.services import ReportFilters
from tests import factories as F  # noqa: N812 (reads like the matrix's world)

P, L, E, A = (
    AttendanceStatus.PRESENT,
    AttendanceStatus.LATE,
    AttendanceStatus.EXCUSED,
    AttendanceStatus.ABSENT,
)


@pytest.fixture
def world(app):
    agile = F.ModuleFactory(name="Agile")
    remote = F.ModuleFactory(name="Remote Teams")
    crisis = F.ModuleFactory(name="Crisis Communication")
    school = F.EditionFactory(title="Digital Transformation 2019", past=True)
    em_agile = F.EditionModuleFactory(edition=school, module=agile)
    em_remote = F.EditionModuleFactory(edition=school, module=remote)
    s1, s2 = (F.SessionFactory(edition_module=em_agile) for _ in range(2))
    s3 = F.SessionFactory(edition_module=em_remote)

    webinar = F.EditionFactory(
        title="Rapid Innovation Webinar 2020",
        kind=EditionKind.WEBINAR,
        start_date=date(2020, 5, 10),
        end_date=date(2020, 5, 10),
        registration_opens_at=None,
        registration_closes_at=None,
        module_choice=True,
        excused_counts_as_attended=False,
    )
    wm_agile = F.EditionModuleFactory(edition=webinar, module=agile)
    wm_crisis = F.EditionModuleFactory(edition=webinar, module=crisis)
    w1 = F.SessionFactory(edition_module=wm_agile)
    w2 = F.SessionFactory(edition_module=wm_crisis)

    upcoming = F.EditionFactory(title="Upcoming School")
    draft = F.EditionFactory(title="Draft School", draft=True, past=True)

    ana = F.UserFactory(
        full_name="Ana Petrović",
        gender=Gender.WOMAN,
        institution_type=InstitutionType.MINISTRY,
        country=Country.SERBIA,
    )
    arben = F.UserFactory(
        full_name="Arben Hoxha",
        gender=Gender.MAN,
        institution_type=InstitutionType.AGENCY,
        country=Country.KOSOVO,
    )
    elira = F.UserFactory(full_name="Elira Shehu", country=Country.ALBANIA)
    rejected = F.UserFactory(gender=Gender.WOMAN, country=Country.SERBIA)
    marko = F.UserFactory(
        full_name="Marko Vujačić",
        gender=Gender.MAN,
        institution_type=InstitutionType.LOCAL_GOVERNMENT,
        country=Country.MONTENEGRO,
    )
    newcomer = F.UserFactory(country=Country.SERBIA)

    r_ana = F.RegistrationFactory(user=ana, edition=school)
    r_arben = F.RegistrationFactory(user=arben, edition=school)
    F.RegistrationFactory(user=elira, edition=school)
    F.RegistrationFactory(user=rejected, edition=school, status=RegistrationStatus.REJECTED)
    for registration, marks in ((r_ana, (P, P, P)), (r_arben, (L, A, E))):
        for session, status in zip((s1, s2, s3), marks, strict=True):
            F.AttendanceFactory(session=session, registration=registration, status=status)
    F.CertificateFactory(registration=r_ana)
    F.CertificateFactory(registration=r_arben, revoked_at=utcnow())

    w_ana = F.RegistrationFactory(user=ana, edition=webinar, modules=[wm_agile])
    w_marko = F.RegistrationFactory(user=marko, edition=webinar, modules=[wm_agile, wm_crisis])
    F.AttendanceFactory(session=w1, registration=w_ana, status=P)
    F.AttendanceFactory(session=w1, registration=w_marko, status=E)
    F.AttendanceFactory(session=w2, registration=w_marko, status=P)
    F.CertificateFactory(registration=w_ana)

    F.RegistrationFactory(user=newcomer, edition=upcoming)
    F.RegistrationFactory(user=F.UserFactory(), edition=draft)
    return {"school": school, "webinar": webinar, "upcoming": upcoming}


def by_label(rows) -> dict[str, tuple[int, int]]:
    return {row.label: (row.registrations, row.people) for row in rows}


def test_the_whole_programme(world):
    report = services.build_report(ReportFilters())
    t = report.totals
    assert (t.editions, t.registrations, t.people, t.returning, t.certified) == (3, 6, 5, 1, 2)
    assert by_label(report.by_country) == {
        "Albania": (1, 1),
        "Kosovo*": (1, 1),
        "Montenegro": (1, 1),
        "Serbia": (3, 2),
    }
    assert report.show_kosovo_note
    assert by_label(report.by_gender) == {"Woman": (2, 1), "Man": (2, 2), "Not answered": (2, 2)}
    assert by_label(report.by_institution_type) == {
        "Ministry": (2, 1),
        "Agency or other central body": (1, 1),
        "Local government": (1, 1),
        "Not answered": (2, 2),
    }
    this_year = world["upcoming"].start_date.year
    assert [
        (y.year, y.editions, y.registrations, y.people, y.new_people) for y in report.by_year
    ] == [
        (2019, 1, 3, 3, 3),
        (2020, 1, 2, 2, 1),
        (this_year, 1, 1, 1, 1),
    ]
    assert report.returning == [("1", 4), ("2", 1), ("3", 0), ("4+", 0)]
    assert report.evaluation_trends == []  # no evaluation answered yet


def test_an_edition_counts_as_finished_from_midnight_where_the_school_is(app):
    """Its certificate rate is shown once it has ended; at 23:30 UTC on its last day Belgrade
    is already on the next one."""
    F.EditionFactory(
        title="Crisis Communication Webinar",
        start_date=date(2026, 11, 30),
        end_date=date(2026, 11, 30),
        registration_opens_at=datetime(2026, 11, 1, tzinfo=UTC),
        registration_closes_at=datetime(2026, 11, 29, tzinfo=UTC),
    )
    filters = ReportFilters()

    evening = services.build_report(filters, now=datetime(2026, 11, 30, 22, 30, tzinfo=UTC))
    after_midnight = services.build_report(filters, now=datetime(2026, 11, 30, 23, 30, tzinfo=UTC))

    assert [e.finished for e in evening.editions] == [False]
    assert [e.finished for e in after_midnight.editions] == [True]


def test_attendance_and_certificate_rates_per_edition_and_module(world):
    report = services.build_report(ReportFilters())
    editions = {e.name: e for e in report.editions}
    assert list(editions) == [
        "Upcoming School",
        "Rapid Innovation Webinar 2020",
        "Digital Transformation 2019",
    ]
    school = editions["Digital Transformation 2019"]
    # 3 participants x 3 ended sessions; present 3 + late 1 + excused 1.
    assert (school.participants, school.planned, school.credited) == (3, 9, 5)
    assert school.certified == 1  # the revoked certificate does not count
    assert round(school.attendance_rate) == 56 and round(school.certificate_rate) == 33
    assert (school.countries, school.women, school.men) == (3, 1, 1)
    webinar = editions["Rapid Innovation Webinar 2020"]
    # Module choice: Agile planned for both, Crisis for Marko only; excused does not count here.
    assert (webinar.participants, webinar.planned, webinar.credited) == (2, 3, 2)
    assert webinar.certificate_rate == 50
    upcoming = editions["Upcoming School"]
    assert upcoming.attendance_rate is None and upcoming.certificate_rate is None

    modules = {m.name: m for m in report.modules}
    agile = modules["Agile"]
    assert (agile.editions, agile.participants, agile.planned, agile.credited) == (2, 5, 8, 4)
    assert agile.attendance_rate == 50 and agile.certificate_rate == 40
    assert (modules["Remote Teams"].planned, modules["Remote Teams"].credited) == (3, 2)
    assert (modules["Crisis Communication"].planned, modules["Crisis Communication"].credited) == (
        1,
        1,
    )


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (ReportFilters(years=(2019,)), (1, 3, 3, 0)),
        (ReportFilters(kinds=(EditionKind.WEBINAR,)), (1, 2, 2, 0)),
        (ReportFilters(countries=(Country.SERBIA,)), (3, 3, 2, 1)),
        (
            ReportFilters(years=(2019, 2020), countries=(Country.SERBIA, Country.MONTENEGRO)),
            (2, 3, 2, 1),
        ),
        (ReportFilters(years=(1999,)), (0, 0, 0, 0)),
    ],
)
def test_filters(world, filters, expected):
    t = services.build_report(filters).totals
    assert (t.editions, t.registrations, t.people, t.returning) == expected


def test_a_country_filter_keeps_other_countries_out_of_every_table(world):
    report = services.build_report(ReportFilters(countries=(Country.KOSOVO,)))
    assert by_label(report.by_country) == {"Kosovo*": (1, 1)}
    school = next(e for e in report.editions if e.name == "Digital Transformation 2019")
    assert (school.participants, school.planned, school.credited) == (1, 3, 2)


def test_filters_from_raw_values():
    filters = ReportFilters.parse(["2020", "2019", "2020"], ["webinar"], ["XK"])
    assert filters.years == (2019, 2020)
    assert filters.query_args() == {
        "year": ["2019", "2020"],
        "kind": ["webinar"],
        "country": ["XK"],
    }
    with pytest.raises(services.ReportError) as exc:
        ReportFilters.parse([], ["party"], [])
    assert exc.value.code == "bad_filter"


# --- the page, the PDF and the workbook --------------------------------------------------------


def cell_text(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</div>', html, re.S)
    return re.sub(r"<[^>]+>", " ", match.group(1))


def test_the_page_shows_the_figures_with_charts_and_tables(client, login, world):
    login(role="staff")
    response = client.get("/staff/reports/")
    assert response.status_code == 200
    html = response.text
    assert "5" in cell_text(html, "figure-people").split()
    assert "6" in cell_text(html, "figure-registrations").split()
    assert html.count('role="img"') >= 5
    assert "Kosovo*" in html and "UNSCR 1244/1999" in html
    assert "Digital Transformation 2019" in html and "56%" in html and "33%" in html
    assert "Draft School" not in html


def test_the_page_filters_and_the_downloads_keep_the_filters(client, login, world):
    login(role="staff")
    html = client.get("/staff/reports/?year=2019&kind=seasonal_school").text
    assert "Years: 2019" in html
    assert "Rapid Innovation Webinar 2020" not in html
    assert "/staff/reports/funder-report.pdf?year=2019&amp;kind=seasonal_school" in html


@pytest.mark.parametrize("query", ["year=1888", "year=abc", "kind=party", "country=ZZ"])
def test_bad_filters_get_a_message_and_a_400(client, login, world, query):
    login(role="staff")
    for path in (
        "/staff/reports/",
        "/staff/reports/report.xlsx",
        "/staff/reports/funder-report.pdf",
    ):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400
        assert "These filters are not valid" in response.text


def test_an_empty_school_shows_an_empty_report(client, login):
    login(role="staff")
    response = client.get("/staff/reports/")
    assert response.status_code == 200
    assert "No participants in this selection." in response.text


def xlsx_of(client, query: str = "") -> dict[str, list[tuple]]:
    response = client.get(f"/staff/reports/report.xlsx{query}")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}


def test_the_workbook_holds_the_same_numbers_as_the_page(client, login, world):
    login(role="staff")
    sheets = xlsx_of(client)
    summary = {row[0]: row[1] for row in sheets["Summary"] if row and row[0]}
    assert summary["Unique people reached"] == 5
    assert summary["Participations (accepted registrations)"] == 6
    assert summary["Returning participants (more than one edition)"] == 1
    assert ("Kosovo*", 1, 1) in sheets["By country"]
    assert "UNSCR 1244/1999" in sheets["By country"][-1][0]
    assert ("Not answered", 2, 2) in sheets["By gender"]
    assert (2020, 1, 2, 2, 1) in sheets["By year"]
    editions = {row[0]: row for row in sheets["Editions"][1:]}
    assert editions["Digital Transformation 2019"][4:] == (3, 56, 1, 33)
    assert editions["Upcoming School"][5:] == (None, None, None)
    modules = {row[0]: row for row in sheets["Modules"][1:]}
    assert modules["Agile"][1:] == (2, 5, 50, 2, 40)
    assert sheets["Evaluation scores"] == [("Module", "Year", "Mean score (1–5)", "Answers")]


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return " ".join(done.stdout.split())


def pdf_rows(data: bytes, tmp_path) -> list[str]:
    """The PDF's lines as laid out on the page (table rows stay on one line)."""
    path = tmp_path / "rows.pdf"
    path.write_bytes(data)
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return [" ".join(line.split()) for line in done.stdout.splitlines()]


def test_the_funder_pdf_holds_the_same_numbers_as_the_page(client, login, world, tmp_path):
    login(role="staff")
    response = client.get("/staff/reports/funder-report.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    text = pdf_text(response.data, tmp_path)
    assert "PROGRAMME REPORT" in text
    assert "Unique people reached 5" in text
    assert "Participations (accepted registrations)" in text
    rows = pdf_rows(response.data, tmp_path)
    assert any(r.startswith("Agile ") and r.endswith(" 2 5 50% 40%") for r in rows)
    assert (
        "3 participants from 3 countries; 1 woman, 1 man; attendance 56%; 1 certificate (33%)."
        in text
    )
    assert "Agile 2 5 50% 40%" in text
    assert "Kosovo* 1 1" in text and "UNSCR 1244/1999" in text
    assert "Draft School" not in text
    # The charts are drawn with real text: their labels and values are in the PDF too.
    assert "Kosovo* 1 (20%)" in text


def test_evaluation_scores_per_module_and_year_on_the_page_pdf_and_xlsx(client, login, tmp_path):
    from schoolmgr.evaluations import answering
    from tests.evaluation_world import evaluation_world, module_answers

    world = evaluation_world(participants=2)  # a 2019 school whose first module is Agile
    part = world.part(world.em1)
    for registration, score in zip(world.registrations, (5, 3), strict=True):
        ratings = {"content": score, "relevance": score, "trainer": score, "materials": score}
        answering.submit(part, registration, module_answers(part, **ratings), date(2026, 1, 5))

    login(role="staff")
    html = client.get("/staff/reports/").text
    assert "Evaluation scores per module over the years" in html
    assert re.search(r"Agile</th><td[^>]*>2019</td><td[^>]*>4.00</td><td[^>]*>8</td>", html)
    assert ("Agile", 2019, 4.0, 8) in xlsx_of(client)["Evaluation scores"]
    text = pdf_text(client.get("/staff/reports/funder-report.pdf").data, tmp_path)
    assert "Agile 2019 4.00 8" in text
    # Webinars only: the scores follow the filter.
    assert (
        "No evaluation answers in this selection."
        in client.get("/staff/reports/?kind=webinar").text
    )


def test_only_staff_see_reports_in_the_menu(client, login):
    login(role="participant")
    assert "/staff/reports/" not in client.get("/").text
    login(role="staff")
    assert "/staff/reports/" in client.get("/").text


def test_the_demo_school_gives_real_figures(db):
    from schoolmgr.demo import seed_demo

    seed_demo()
    report = services.build_report(ReportFilters())
    assert report.totals.people >= 40 and report.totals.returning > 0
    genders = by_label(report.by_gender)
    assert genders["Woman"][1] > 10 and genders["Man"][1] > 10
    assert genders["Not answered"][1] < genders["Woman"][1]
    types = by_label(report.by_institution_type)
    assert {"Ministry", "Local government", "Agency or other central body"} <= set(types)
    assert any(e.attendance_rate for e in report.editions)


def test_the_funder_pdf_is_the_same_when_its_styles_are_computed_for_it_alone(
    client, login, world, monkeypatch
):
    """PDFs share computed styles across documents (pdf_styles); a report does not show it."""
    from schoolmgr import pdf  # noqa: PLC0415

    login(role="staff")
    shared = [client.get("/staff/reports/funder-report.pdf").data for _ in range(2)]
    monkeypatch.setattr(pdf.PrintHTML, "share_styles", False)
    assert client.get("/staff/reports/funder-report.pdf").data == shared[0] == shared[1]
