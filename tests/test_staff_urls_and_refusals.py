"""Staff pages name an edition by its slug (old links redirect), and every refusal of a service
reaches the user the same way: a flash and a redirect back, a 4xx page, or text for scripts."""

from datetime import timedelta

import pytest
from freezegun import freeze_time

from schoolmgr.extensions import db
from schoolmgr.models import Edition, EditionFormat, Role
from tests.test_programme_routes import edition_form

# --- one way to name an edition --------------------------------------------------------------


@pytest.mark.parametrize(
    "tail", ["", "/edit", "/schedule?view=day", "/attendance", "/attendance.csv", "/evaluations"]
)
def test_old_links_by_edition_id_redirect_permanently_to_the_slug(
    client, login, make_edition, tail
):
    edition = make_edition(slug="school-2027")
    login(role=Role.STAFF)
    response = client.get(f"/staff/editions/{edition.id}{tail}")
    assert response.status_code == 308
    assert response.headers["Location"] == f"/staff/editions/school-2027{tail}"
    assert client.get(response.headers["Location"]).status_code == 200


def test_an_old_form_posted_by_edition_id_keeps_its_method(client, login, make_edition):
    edition = make_edition(draft=True, slug="draft-2027")
    login(role=Role.STAFF)
    response = client.post(f"/staff/editions/{edition.id}/status", data={"action": "publish"})
    assert response.status_code == 308  # the browser posts the same form again to the new URL
    assert response.headers["Location"] == "/staff/editions/draft-2027/status"
    client.post(response.headers["Location"], data={"action": "publish"})
    assert db.session.get(Edition, edition.id).is_published


def test_a_renamed_edition_keeps_its_old_address_until_another_edition_takes_it(
    client, login, make_edition
):
    edition = make_edition(timezone="Europe/Belgrade", slug="ril-2027")
    login(role=Role.STAFF)
    data = edition_form(
        slug="rapid-innovation-lab-2027",
        timezone="Europe/Belgrade",
        start_date=edition.start_date.isoformat(),
        end_date=edition.end_date.isoformat(),
        registration_opens_date=(edition.start_date - timedelta(days=30)).isoformat(),
        registration_closes_date=edition.start_date.isoformat(),
    )
    saved = client.post("/staff/editions/ril-2027/edit", data=data)
    assert saved.headers["Location"] == "/staff/editions/rapid-innovation-lab-2027"

    old = client.get("/staff/editions/ril-2027/registrations?status=accepted")
    assert old.status_code == 308
    assert old.headers["Location"] == (
        "/staff/editions/rapid-innovation-lab-2027/registrations?status=accepted"
    )
    old_certificates = client.get("/staff/editions/ril-2027/certificates")
    assert old_certificates.headers["Location"].endswith("/rapid-innovation-lab-2027/certificates")

    newcomer = make_edition(slug="ril-2027", title="Another school")
    page = client.get("/staff/editions/ril-2027")
    assert page.status_code == 200
    assert newcomer.title in page.text


@pytest.mark.parametrize("name", ["no-such-edition", "999999", "9" * 40])
def test_an_address_no_edition_ever_had_is_a_404(client, login, make_edition, name):
    make_edition()
    login(role=Role.STAFF)
    assert client.get(f"/staff/editions/{name}").status_code == 404
    assert client.get(f"/staff/editions/{name}/announcements").status_code == 404


def test_staff_links_name_editions_by_slug(client, login, make_edition):
    edition = make_edition(slug="links-2027")
    login(role=Role.STAFF)
    page = client.get("/staff/editions/links-2027").text
    assert f"/staff/editions/{edition.id}" not in page
    for tab in ("registrations", "attendance", "certificates", "evaluations", "edit"):
        assert f'href="/staff/editions/links-2027/{tab}"' in page


# --- one way for refusals --------------------------------------------------------------------


@pytest.fixture
def roster(make_edition_module, make_user, make_session, make_registration):
    trainer = make_user(trainer=True)
    em = make_edition_module(trainers=[trainer])
    session = make_session(edition_module=em)
    registration = make_registration(edition=em.edition, modules=[em])
    return {"trainer": trainer, "session": session, "registration": registration}


def test_a_refused_action_flashes_why_and_goes_back_to_the_page(client, login, roster):
    session = roster["session"]
    login(roster["trainer"])
    with freeze_time(session.starts_at - timedelta(hours=2)):
        response = client.post(f"/trainer/sessions/{session.id}/close")
        page = client.get(response.headers["Location"])
    assert response.status_code == 303
    assert response.headers["Location"] == f"/trainer/sessions/{session.id}"
    assert "A session can be closed only once it has started." in page.text
    db.session.refresh(session)
    assert session.closed_at is None


def test_a_refusal_answers_a_script_with_its_message_and_status(client, login, roster):
    session = roster["session"]
    login(roster["trainer"])
    response = client.post(
        f"/trainer/sessions/{session.id}/mark/{roster['registration'].id + 1000}",
        data={"status": "present"},
        headers={"X-Requested-With": "fetch"},
    )
    assert response.status_code == 400
    assert response.text == "Some participants are not on this session's roster; nothing was saved."


def test_a_refusal_with_no_page_to_go_back_to_is_a_4xx_page_that_says_why(
    client, login, make_registration
):
    registration = make_registration(edition__format=EditionFormat.ONLINE)
    login(registration.user)
    response = client.get(f"/me/letters/{registration.id}.pdf")
    assert response.status_code == 409
    assert "Invitation letters are for in-person editions." in response.text


def test_a_refusal_of_something_missing_is_a_404_page(client, login, make_registration):
    registration = make_registration()
    login(role=Role.PARTICIPANT)  # someone else
    response = client.post(f"/me/registrations/{registration.id}/cancel")
    assert response.status_code == 404
