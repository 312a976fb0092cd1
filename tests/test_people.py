"""Staff find people and change roles and accounts; only admins touch staff and admins."""

import pytest
import sqlalchemy as sa

from schoolmgr.models import AuditEvent, Country, Role, User
from schoolmgr.people import services
from schoolmgr.people.services import PeopleError


def found(query) -> list[str]:
    from schoolmgr.extensions import db

    return [u.full_name for u in db.session.scalars(query)]


def test_search_folds_accents_and_scripts(db, make_user):
    make_user(full_name="Đorđe Čolić", institution="Kancelarija za IT")
    make_user(full_name="Ђорђе Петровић", institution="Министарство")
    make_user(full_name="Ana Kovač", email="ana@gov.ba", institution="Agencija za statistiku")

    assert found(services.users_query("colic")) == ["Đorđe Čolić"]
    assert found(services.users_query("djordje")) == ["Đorđe Čolić", "Ђорђе Петровић"]
    assert found(services.users_query("petrovic ministarstvo")) == ["Ђорђе Петровић"]
    assert found(services.users_query("gov.ba")) == ["Ana Kovač"]
    assert found(services.users_query("statistiku")) == ["Ana Kovač"]


def test_search_by_country_and_filters(db, make_user):
    make_user(full_name="Arta Berisha", country=Country.KOSOVO)
    make_user(full_name="Petar Petrov", country=Country.NORTH_MACEDONIA, role=Role.TRAINER)
    make_user(full_name="Gone Away", country=Country.SERBIA, active=False)

    assert found(services.users_query("kosovo")) == ["Arta Berisha"]
    assert found(services.users_query("macedonia")) == ["Petar Petrov"]
    assert found(services.users_query(role="trainer")) == ["Petar Petrov"]
    assert found(services.users_query(active="no")) == ["Gone Away"]
    assert "Gone Away" not in found(services.users_query(active="yes"))


def test_staff_change_participants_and_trainers_with_an_audit_record(db, make_user):
    staff, user = make_user(staff=True), make_user()
    services.change_role(staff, user, Role.TRAINER, reason="Teaches Agile")

    assert user.role == Role.TRAINER
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.role_changed"))
    assert event.actor_id == staff.id and event.target_id == user.id
    assert event.before == {"role": "participant"} and event.after == {"role": "trainer"}
    assert event.reason == "Teaches Agile" and event.created_at is not None


@pytest.mark.parametrize(
    ("target_role", "new_role"),
    [
        (Role.PARTICIPANT, Role.STAFF),
        (Role.PARTICIPANT, Role.ADMIN),
        (Role.ADMIN, Role.PARTICIPANT),
        (Role.STAFF, Role.TRAINER),
    ],
)
def test_only_admins_make_or_unmake_staff_and_admins(db, make_user, target_role, new_role):
    staff, user = make_user(staff=True), make_user(role=target_role)
    with pytest.raises(PeopleError) as exc:
        services.change_role(staff, user, new_role)
    assert exc.value.code == "admin_only"
    assert user.role == target_role


def test_admins_make_staff_and_the_user_is_signed_out_elsewhere(db, make_user):
    admin, user = make_user(admin=True), make_user()
    version = user.session_version
    services.change_role(admin, user, Role.STAFF)
    assert user.role == Role.STAFF and user.session_version == version + 1


def test_nobody_changes_their_own_role_and_the_last_admin_stays(db, make_user):
    admin = make_user(admin=True)
    with pytest.raises(PeopleError) as exc:
        services.change_role(admin, admin, Role.PARTICIPANT)
    assert exc.value.code == "own_account"
    other = make_user(admin=True, active=False)
    with pytest.raises(PeopleError) as exc:
        services.change_role(other, admin, Role.STAFF)
    assert exc.value.code == "last_admin"


def test_deactivate_and_reactivate(db, make_user):
    staff, user = make_user(staff=True), make_user()
    version = user.session_version
    services.set_active(staff, user, False, reason="Left the ministry")
    assert not user.active and user.session_version == version + 1
    services.set_active(staff, user, True)
    assert user.active
    actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["user.deactivated", "user.reactivated"]
    with pytest.raises(PeopleError) as exc:
        services.set_active(staff, make_user(admin=True), False)
    assert exc.value.code == "admin_only"


# --- routes -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/staff/people/", "/staff/people/{id}"])
def test_people_pages_need_staff(client, login, make_user, path):
    user = make_user()
    path = path.format(id=user.id)
    assert "/login" in client.get(path).headers["Location"]
    login(role=Role.TRAINER)
    assert client.get(path).status_code == 403
    login(role=Role.STAFF)
    assert client.get(path).status_code == 200


def test_people_list_searches_paginates_and_carries_the_kosovo_note(client, login, make_user, app):
    app.config["PER_PAGE"] = 2
    for n in range(3):
        make_user(full_name=f"Čolić {n}", country=Country.KOSOVO)
    login(role=Role.STAFF)
    response = client.get("/staff/people/?q=colic")
    assert "Čolić 0" in response.text and "Čolić 2" not in response.text
    assert "1–2 of 3" in response.text
    assert "UNSCR 1244/1999" in response.text
    assert "Čolić 2" in client.get("/staff/people/?q=colic&page=2").text


def test_staff_promote_a_participant_but_not_to_staff(client, login, make_user, db):
    user = make_user()
    login(role=Role.STAFF)
    assert client.post(f"/staff/people/{user.id}/role", data={"role": "trainer"}).status_code == 302
    assert db.session.get(User, user.id).role == Role.TRAINER
    response = client.post(f"/staff/people/{user.id}/role", data={"role": "staff"})
    assert response.status_code == 403
    assert "Only administrators" in response.text
    assert db.session.get(User, user.id).role == Role.TRAINER


def test_a_blank_choice_is_refused_with_a_400_not_stored_or_a_500(client, login, make_user, db):
    """WTForms' Optional took " " for "not answered" and cleared the select's own refusal."""
    user = make_user()
    login(role=Role.STAFF)
    answers = f"/staff/people/{user.id}/report-answers"
    for data in (
        {"gender": " "},
        {"institution_type": " \t"},
        {"gender": "woman", "institution_type": " "},
    ):
        response = client.post(answers, data=data)
        assert response.status_code == 400, data
        assert "Not a valid choice" in response.text
    role = client.post(
        f"/staff/people/{user.id}/role", data={"role": "coordinator", "coordinator_country": " "}
    )
    assert role.status_code == 400 and "Not a valid choice" in role.text
    db.session.expire_all()
    kept = db.session.get(User, user.id)
    assert (kept.gender, kept.institution_type, kept.role) == (None, None, Role.PARTICIPANT)
    assert client.post(answers, data={"gender": "woman"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).gender.value == "woman"


def test_admin_makes_staff_through_the_page(client, login, make_user, db):
    user = make_user()
    login(role=Role.ADMIN)
    page = client.get(f"/staff/people/{user.id}")
    assert 'value="admin"' in page.text
    client.post(f"/staff/people/{user.id}/role", data={"role": "staff"})
    assert db.session.get(User, user.id).role == Role.STAFF


def test_deactivated_user_is_signed_out(client, login, make_user, db, app):
    user = make_user()
    login(user)
    assert client.get("/account/").status_code == 200
    staff = make_user(staff=True)
    services.set_active(staff, user, False)
    assert client.get("/account/").status_code == 302


def test_csrf_is_enforced_on_role_changes(app, client, login, make_user, db):
    app.config["WTF_CSRF_ENABLED"] = True
    user = make_user()
    login(role=Role.ADMIN)
    response = client.post(f"/staff/people/{user.id}/role", data={"role": "staff"})
    assert response.status_code == 400
    assert db.session.get(User, user.id).role == Role.PARTICIPANT


def test_a_trainer_still_assigned_cannot_become_a_participant(db, make_user, make_edition_module):
    staff, trainer = make_user(staff=True), make_user(trainer=True)
    em = make_edition_module(trainers=[trainer])
    with pytest.raises(PeopleError) as exc:
        services.change_role(staff, trainer, Role.PARTICIPANT)
    assert exc.value.code == "trainer_assigned"
    assert em.module.name in exc.value.message
    em.edition.status = em.edition.status.ARCHIVED
    db.session.commit()
    services.change_role(staff, trainer, Role.PARTICIPANT)
    assert trainer.role == Role.PARTICIPANT
