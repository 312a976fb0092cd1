"""Names that would print blank or spoofed are refused wherever a name is typed; accepted ones
are stored normalised (issue 12.6). The rule is one validator (`schoolmgr.forms.OneLine`)."""

import unicodedata

import pytest
import sqlalchemy as sa

from schoolmgr.models import Role, User
from schoolmgr.text import line_problem, normalise_line

BAD_NAMES = {
    "zero-width spaces": "\u200b\u200b\u200b",
    "Hangul filler": "\u3164",
    "right-to-left override": "Ana \u202egnp.exe",
    "right-to-left isolate": "Ana\u2067Marija\u2069",
    "left-to-right mark": "Ana\u200e",
    "Arabic letter mark": "Ana\u061cMarija",
    "line break": "Ana\r\nMarija",
    "line separator": "Ana\u2028Marija",
    "only combining accents": "\u0301\u0301",
}
MESSAGES = ("would print as blank", "direction of the text", "on one line", "field is required")


@pytest.mark.parametrize("value", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_the_rule_refuses_names_that_print_blank_or_spoofed(value):
    assert not normalise_line(value) or line_problem(normalise_line(value))


def test_names_are_normalised_nfc_trimmed_and_spaces_collapsed():
    decomposed = unicodedata.normalize("NFD", "Đorđe Čolić")
    assert normalise_line(f"  {decomposed}\t \u00a0Ђорђе\u200b  ") == "Đorđe Čolić Ђорђе"
    assert line_problem("Ëngjëll Çela") is None


def _refused(response) -> bool:
    return response.status_code == 400 and any(m in response.text for m in MESSAGES)


@pytest.mark.parametrize("value", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_sign_up_refuses_the_name(client, db, value):
    from tests.test_auth_routes import signup_form

    response = client.post("/signup", data=signup_form(full_name=value))

    assert _refused(response), response.status_code
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


@pytest.mark.parametrize("value", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_profile_refuses_the_name_and_keeps_the_old_one(client, login, db, value):
    user = login()
    name = user.full_name

    response = client.post(
        "/account/", data={"full_name": value, "preferred_language": "en", "country": "RS"}
    )

    assert _refused(response)
    db.session.refresh(user)
    assert user.full_name == name


@pytest.mark.parametrize("field", ["institution", "position"])
def test_registration_refuses_spoofed_profile_fields(client, login, db, make_edition, field):
    from tests.test_registration_routes import FORM

    edition = make_edition()
    user = login()

    response = client.post(
        f"/editions/{edition.slug}/register", data={**FORM, field: "Ministry \u202eTI fo"}
    )

    assert _refused(response)
    db.session.refresh(user)
    assert "\u202e" not in getattr(user, field)


@pytest.mark.parametrize("value", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_staff_cannot_invite_a_trainer_under_such_a_name(
    client, login, db, make_edition_module, value
):
    em = make_edition_module()
    login(role=Role.STAFF)

    response = client.post(
        "/staff/trainers/invite",
        data={"full_name": value, "email": "besa@example.org", "edition_module_id": em.id},
    )

    assert response.status_code in (302, 400)
    assert db.session.scalar(sa.select(User).where(User.email == "besa@example.org")) is None


def test_accepted_names_are_stored_normalised_everywhere(client, login, db, make_edition):
    from tests.test_auth_routes import signup_form

    decomposed = unicodedata.normalize("NFD", "Đorđe   Čolić")
    client.post("/signup", data=signup_form(full_name=f" {decomposed}\u200b "))
    user = db.session.scalar(sa.select(User))
    assert user.full_name == "Đorđe Čolić"

    login(user)
    client.post(
        "/account/",
        data={
            "full_name": "Ђорђе\tЧолић",
            "institution": "  Office  for IT ",
            "position": "Head   of Unit",
            "preferred_language": "en",
            "country": "RS",
        },
    )
    db.session.refresh(user)
    assert (user.full_name, user.institution, user.position) == (
        "Ђорђе Чолић",
        "Office for IT",
        "Head of Unit",
    )
