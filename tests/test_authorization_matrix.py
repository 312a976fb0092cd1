"""Who may do what: one row per route of `app.url_map`, one column per kind of visitor.

The world (`build_world`) holds real objects: an edition with two modules, each with its own
trainer and session; a participant ("owner") whose registration, attendance mark, certificate
and personal data the URLs point at; another participant with their own; staff and an admin.

Columns, in order:
    anon     nobody signed in
    owner    the participant whose objects the URL names
    other    another participant of the same edition
    trainer  the trainer of the module the URL names (module 1)
    otrainer the trainer of the other module of the same edition (module 2)
    staff    programme staff
    admin    administrator
    coord    the national coordinator of the owner's country (Serbia)
    ocoord   the national coordinator of another country (Albania)

A row gives the seven outcomes anon..admin; the two coordinators then get the outcome of
`other` (they are signed in and own nothing the URL names). Rows where a coordinator differs
give all nine.

Outcomes:
    200      the page (or file) is served
    L        redirect to the sign-in page
    R        redirect somewhere else (e.g. a signed-in user sent away from the sign-in page)
    403 404  refused: 403 where the visitor may know the thing exists, 404 where they may not
    ok       allowed: anything but 401/403/404/405/5xx or a redirect to sign-in. POST rows use it
             for visitors who may act (the empty form then gets a 400 or a redirect back).

Adding a route: add a row `T(endpoint, method, {url arg: "world.attribute"}, "outcomes")`.
A route without a row fails `test_every_route_has_a_row`. To see what a new route does today,
run `AUTHZ_DISCOVER=1 .venv/bin/pytest -q -s tests/test_authorization_matrix.py -k discover`:
it prints rows for routes that have none, with the observed outcomes, to be checked by a person
before they go into the table.
"""

# ruff: noqa: E501  (the table is aligned in columns on purpose)

import operator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import sqlalchemy as sa

from schoolmgr.extensions import db
from schoolmgr.models import (
    Announcement,
    AttendanceStatus,
    CertificateBatch,
    Country,
    InvitationLetter,
    MaterialKind,
    RegistrationStatus,
    Role,
    User,
)
from tests import factories

VISITORS = ("anon", "owner", "other", "trainer", "otrainer", "staff", "admin", "coord", "ocoord")
COORDINATORS = ("coord", "ocoord")
# Refused visitors first: a POST that is allowed may change the world, which is then rebuilt.
WALK_ORDER = ("anon", "ocoord", "other", "otrainer", "trainer", "owner", "coord", "staff", "admin")
DENIED = {"L", "403", "404"}


@dataclass
class Row:
    endpoint: str
    method: str
    args: dict[str, str]
    expected: dict[str, str]
    data: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.endpoint, self.method)


def T(endpoint: str, method: str, args: dict[str, str], outcomes: str, **data) -> Row:  # noqa: N802
    values = outcomes.split()
    if len(values) == len(VISITORS) - len(COORDINATORS):
        values += [values[VISITORS.index("other")]] * len(COORDINATORS)
    assert len(values) == len(VISITORS), f"{endpoint}: {len(values)} outcomes for 7 or 9 visitors"
    return Row(endpoint, method, args, dict(zip(VISITORS, values, strict=True)), data)


PUBLIC = "200 200 200 200 200 200 200"
ANYONE_MAY_POST = "ok ok ok ok ok ok ok"
SIGNED_IN = "L 200 200 200 200 200 200"
STAFF_GET = "L 403 403 403 403 200 200"
STAFF_POST = "L 403 403 403 403 ok ok"
SLUG = {"slug": "edition.slug"}
EM1 = {"em_id": "em1.id"}
SESSION1 = {"session_id": "session1.id"}
CERT = {"certificate_id": "certificate.id"}
EVAL_FORM = {"form_id": "evaluation.form.id"}
EVAL_QUESTION = {"question_id": "evaluation.question.id"}
ANNOUNCEMENT = {"slug": "edition.slug", "announcement_id": "announcement.id"}

# fmt: off
ROWS = [
    #  endpoint                              method  url arguments                        anon owner other trainer otrainer staff admin
    # Public pages
    T("public.home",                         "GET",  {},                                   PUBLIC),
    T("public.edition",                      "GET",  SLUG,                                 PUBLIC),
    T("public.series",                       "GET",  {"series": "edition.series"},         PUBLIC),
    T("public.modules",                      "GET",  {},                                   PUBLIC),
    T("public.module",                       "GET",  {"slug": "module1.slug"},             PUBLIC),
    T("public.set_language",                 "POST", {},                                   ANYONE_MAY_POST),
    T("static",                              "GET",  {"filename": "const.css_file"},       PUBLIC),
    T("health.healthz",                      "GET",  {},                                   PUBLIC),
    # Signing in and out, accounts
    T("auth.login",                          "GET",  {},                                   "200 R R R R R R"),
    T("auth.login",                          "POST", {},                                   "ok R R R R R R"),
    T("auth.signup",                         "GET",  {},                                   "200 R R R R R R"),
    T("auth.signup",                         "POST", {},                                   "ok R R R R R R"),
    T("auth.logout",                         "POST", {},                                   "L R R R R R R"),
    # Reset links and invitations: the token is the credential, whoever is signed in.
    T("auth.forgot_password",                "GET",  {},                                   PUBLIC),
    T("auth.forgot_password",                "POST", {},                                   ANYONE_MAY_POST),
    T("auth.reset_password",                 "GET",  {"token": "tokens.reset"},            PUBLIC),
    T("auth.reset_password",                 "POST", {"token": "tokens.reset"},            ANYONE_MAY_POST),
    T("account.profile",                     "GET",  {},                                   SIGNED_IN),
    T("account.profile",                     "POST", {},                                   "L ok ok ok ok ok ok"),
    T("account.password",                    "POST", {},                                   "L ok ok ok ok ok ok"),
    T("privacy.overview",                    "GET",  {},                                   SIGNED_IN),
    T("privacy.export",                      "GET",  {},                                   SIGNED_IN),
    T("privacy.delete",                      "POST", {},                                   "L ok ok ok ok ok ok"),
    # A participant's own things
    T("registration.register",               "GET",  SLUG,                                 "L ok ok ok ok ok ok"),
    T("registration.register",               "POST", SLUG,                                 "L ok ok ok ok ok ok"),
    T("registration.dashboard",              "GET",  {},                                   SIGNED_IN),
    T("registration.cancel",                 "POST", {"registration_id": "registration.id"}, "L ok 404 404 404 404 404"),
    T("registration.schedule",               "GET",  {},                                   SIGNED_IN),
    T("registration.schedule_ics",           "GET",  {},                                   SIGNED_IN),
    T("registration.calendar_feed",          "GET",  {"token": "owner.calendar_token"},    PUBLIC),
    T("registration.reset_calendar_address", "POST", {},                                   "L ok ok ok ok ok ok"),
    T("certificates.mine",                   "GET",  {},                                   SIGNED_IN),
    T("certificates.my_pdf",                 "GET",  CERT,                                 "L 200 404 404 404 404 404"),
    T("credentials.my_jwt",                  "GET",  CERT,                                 "L 200 404 404 404 404 404"),
    T("credentials.my_json",                 "GET",  CERT,                                 "L 200 404 404 404 404 404"),
    T("credentials.my_badge",                "GET",  CERT,                                 "L 200 404 404 404 404 404"),
    # Both participants attend module 1; people who are not participants are sent back.
    T("attendance.apology",                  "POST", SESSION1,                             "L ok ok R R R R"),
    T("attendance.checkin",                  "GET",  {},                                   SIGNED_IN),
    T("attendance.checkin",                  "POST", {},                                   "L ok ok ok ok ok ok"),
    T("attendance.checkin_qr_landing",       "GET",  {"session_id": "session1.id", "token": "tokens.qr"}, "L ok ok ok ok ok ok"),
    T("attendance.checkin_qr_landing",       "POST", {"session_id": "session1.id", "token": "tokens.qr"}, "L ok ok 403 403 403 403 403 403"),
    # Materials
    # The module page is public (it lists public materials only to visitors); participants-only
    # materials are for the edition's accepted participants, the module's trainers and staff.
    T("materials.module_page",               "GET",  {"slug": "edition.slug", "module_slug": "module1.slug"}, PUBLIC),
    T("materials.module_zip",                "GET",  {"slug": "edition.slug", "module_slug": "module1.slug"}, "L 200 200 200 403 200 200 403 403"),
    T("materials.download",                  "GET",  {"material_id": "material.id"},       "L R R R 403 R R 403 403"),
    # Certificate verification (public)
    T("certificates.verify",                 "GET",  {},                                   PUBLIC),
    T("certificates.verify",                 "POST", {},                                   "ok ok ok ok ok ok ok"),
    T("certificates.verify_code",            "GET",  {"code": "certificate.verification_code"}, PUBLIC),
    T("certificates.verify_code",            "POST", {"code": "certificate.verification_code"}, "ok ok ok ok ok ok ok"),
    T("certificates.verify_json",            "GET",  {"code": "certificate.verification_code"}, PUBLIC),
    # Open Badges: the issuer's public documents, and checking a credential
    T("credentials.issuer",                  "GET",  {},                                   PUBLIC),
    T("credentials.jwks",                    "GET",  {},                                   PUBLIC),
    T("credentials.public_key",              "GET",  {"key_id": "credential.key_id"},      PUBLIC),
    T("credentials.achievement",             "GET",  SLUG,                                 PUBLIC),
    T("credentials.status_list",             "GET",  {"list_number": "const.one"},         PUBLIC),
    T("credentials.verify",                  "POST", {},                                   ANYONE_MAY_POST),
    # Trainer workspace: module 1 belongs to `trainer`, not to `otrainer`
    T("trainer.home",                        "GET",  {},                                   "L 403 403 200 200 200 200"),
    T("trainer.module",                      "GET",  {"edition_module_id": "em1.id"},      "L 403 403 200 403 200 200"),
    T("attendance.module_summary",           "GET",  {"edition_module_id": "em1.id"},      "L 403 403 200 403 200 200"),
    T("attendance.module_summary_csv",       "GET",  {"edition_module_id": "em1.id"},      "L 403 403 200 403 200 200"),
    T("materials.add",                       "POST", {"edition_module_id": "em1.id"},      "L 403 403 ok 403 ok ok"),
    T("materials.manage",                    "GET",  {"material_id": "material.id"},       "L 403 403 200 403 200 200"),
    T("materials.manage",                    "POST", {"material_id": "material.id"},       "L 403 403 ok 403 ok ok"),
    T("materials.delete",                    "GET",  {"material_id": "material.id"},       "L 403 403 200 403 200 200"),
    T("materials.delete",                    "POST", {"material_id": "material.id"},       "L 403 403 ok 403 ok ok"),
    T("materials.replace",                   "POST", {"material_id": "material.id"},       "L 403 403 ok 403 ok ok"),
    T("attendance.roster",                   "GET",  SESSION1,                             "L 403 403 200 403 200 200"),
    T("attendance.roster",                   "POST", SESSION1,                             "L 403 403 ok 403 ok ok"),
    T("attendance.checkin_screen",           "GET",  SESSION1,                             "L 403 403 200 403 200 200"),
    T("attendance.checkin_screen",           "POST", SESSION1,                             "L 403 403 ok 403 ok ok"),
    T("attendance.checkin_qr",               "GET",  SESSION1,                             "L 403 403 200 403 200 200"),
    T("attendance.close",                    "POST", SESSION1,                             "L 403 403 ok 403 ok ok"),
    T("attendance.reopen",                   "POST", SESSION1,                             "L 403 403 ok 403 ok ok"),
    T("attendance.mark_one",                 "POST", {"session_id": "session1.id", "registration_id": "registration.id"}, "L 403 403 ok 403 ok ok"),
    T("attendance.sheet",                    "GET",  SESSION1,                             "L 403 403 200 403 200 200"),
    # Staff: programme
    T("programme.editions",                  "GET",  {},                                   STAFF_GET),
    T("programme.new_edition",               "GET",  {},                                   STAFF_GET),
    T("programme.new_edition",               "POST", {},                                   STAFF_POST),
    T("programme.edition",                   "GET",  SLUG,                                 STAFF_GET),
    T("programme.edit_edition",              "GET",  SLUG,                                 STAFF_GET),
    T("programme.edit_edition",              "POST", SLUG,                                 STAFF_POST),
    T("programme.duplicate_edition",         "GET",  SLUG,                                 STAFF_GET),
    T("programme.duplicate_edition",         "POST", SLUG,                                 STAFF_POST),
    T("programme.edition_status",            "POST", SLUG,                                 STAFF_POST),
    T("programme.add_module",                "POST", SLUG,                                 STAFF_POST),
    T("programme.schedule",                  "GET",  SLUG,                                 STAFF_GET),
    T("programme.move_module",               "POST", EM1,                                  STAFF_POST),
    T("programme.remove_module",             "GET",  EM1,                                  STAFF_GET),
    T("programme.remove_module",             "POST", EM1,                                  STAFF_POST),
    T("programme.new_session",               "GET",  EM1,                                  STAFF_GET),
    T("programme.new_session",               "POST", EM1,                                  STAFF_POST),
    T("programme.trainers",                  "GET",  EM1,                                  STAFF_GET),
    T("programme.trainers",                  "POST", EM1,                                  STAFF_POST),
    T("programme.edit_session",              "GET",  SESSION1,                             STAFF_GET),
    T("programme.edit_session",              "POST", SESSION1,                             STAFF_POST),
    T("programme.move_session",              "POST", SESSION1,                             STAFF_POST),
    T("programme.delete_session",            "POST", SESSION1,                             STAFF_POST),
    T("programme.modules",                   "GET",  {},                                   STAFF_GET),
    T("programme.new_module",                "GET",  {},                                   STAFF_GET),
    T("programme.new_module",                "POST", {},                                   STAFF_POST),
    T("programme.edit_module",               "GET",  {"module_id": "module1.id"},          STAFF_GET),
    T("programme.edit_module",               "POST", {"module_id": "module1.id"},          STAFF_POST),
    T("programme.retire_module",             "POST", {"module_id": "module1.id"},          STAFF_POST),
    T("programme.delete_module",             "POST", {"module_id": "module1.id"},          STAFF_POST),
    T("programme.invite_trainer",            "POST", {},                                   STAFF_POST),
    T("programme.accept_invitation",         "GET",  {"token": "tokens.invitation"},       PUBLIC),
    T("programme.accept_invitation",         "POST", {"token": "tokens.invitation"},       ANYONE_MAY_POST),
    T("attendance.edition_summary",          "GET",  SLUG,                                 STAFF_GET),
    T("attendance.edition_summary_csv",      "GET",  SLUG,                                 STAFF_GET),
    # Staff: registrations
    T("registration.staff_list",             "GET",  SLUG,                                 STAFF_GET),
    T("registration.staff_overview",         "GET",  SLUG,                                 STAFF_GET),
    T("registration.staff_bulk",             "POST", SLUG,                                 STAFF_POST),
    T("registration.staff_capacity",         "GET",  SLUG,                                 STAFF_GET),
    T("registration.staff_capacity",         "POST", SLUG,                                 STAFF_POST),
    T("registration.staff_seats",            "GET",  SLUG,                                 STAFF_GET),
    T("registration.staff_seats",            "POST", SLUG,                                 STAFF_POST),
    T("registration.staff_release_seats",    "POST", SLUG,                                 STAFF_POST),
    T("registration.staff_export_csv",       "GET",  SLUG,                                 STAFF_GET),
    T("registration.staff_export_xlsx",      "GET",  SLUG,                                 STAFF_GET),
    # Staff: certificates
    T("certificates.eligibility",            "GET",  SLUG,                                 STAFF_GET),
    T("certificates.issued",                 "GET",  SLUG,                                 STAFF_GET),
    T("certificates.download_zip",           "GET",  SLUG,                                 STAFF_GET),
    T("certificates.issue_all",              "POST", SLUG,                                 STAFF_POST),
    T("certificates.issue_one",              "POST", {"slug": "edition.slug", "registration_id": "registration.id"}, STAFF_POST),
    T("certificates.override",               "POST", {"slug": "edition.slug", "registration_id": "registration.id"}, STAFF_POST),
    T("certificates.batch",                  "GET",  {"slug": "edition.slug", "batch_id": "batch.id"}, STAFF_GET),
    T("certificates.batch_json",             "GET",  {"slug": "edition.slug", "batch_id": "batch.id"}, STAFF_GET),
    T("certificates.detail",                 "GET",  CERT,                                 STAFF_GET),
    T("certificates.staff_pdf",              "GET",  CERT,                                 STAFF_GET),
    T("certificates.reissue",                "POST", CERT,                                 STAFF_POST),
    T("certificates.revoke",                 "POST", CERT,                                 STAFF_POST),
    # Staff: people and the audit log
    T("people.users",                        "GET",  {},                                   STAFF_GET),
    T("people.user",                         "GET",  {"user_id": "owner.id"},              STAFF_GET),
    T("people.set_active",                   "POST", {"user_id": "owner.id"},              STAFF_POST),
    T("people.change_role",                  "POST", {"user_id": "owner.id"},              STAFF_POST),
    T("people.set_report_answers",           "POST", {"user_id": "owner.id"},              STAFF_POST),
    # Staff: programme reports
    T("reports.index",                       "GET",  {},                                   STAFF_GET),
    T("reports.funder_pdf",                  "GET",  {},                                   STAFF_GET),
    T("reports.xlsx",                        "GET",  {},                                   STAFF_GET),
    # National coordinators: only they, each for the people of their own country
    T("nominations.home",                    "GET",  {},                                   "L 403 403 403 403 403 403 200 200"),
    T("nominations.edition",                 "GET",  SLUG,                                 "L 403 403 403 403 403 403 200 200"),
    T("nominations.nominate",                "POST", {"registration_id": "registration.id"}, "L 403 403 403 403 403 403 ok 404"),
    T("audit.events",                        "GET",  {},                                   STAFF_GET),
    # Evaluations: staff build forms and read everything; the owner attended module 1 (whose
    # part is open), the other participant missed it; trainers read their module's results of
    # a closed form with enough answers, never the other module's.
    T("evaluations.edition_forms",           "GET",  SLUG,                                 STAFF_GET),
    T("evaluations.edition_forms",           "POST", SLUG,                                 STAFF_POST),
    T("evaluations.edit",                    "GET",  EVAL_FORM,                            STAFF_GET),
    T("evaluations.edit",                    "POST", EVAL_FORM,                            STAFF_POST),
    T("evaluations.add_question",            "POST", EVAL_FORM,                            STAFF_POST),
    T("evaluations.publish",                 "POST", EVAL_FORM,                            STAFF_POST),
    T("evaluations.close",                   "POST", EVAL_FORM,                            STAFF_POST),
    T("evaluations.copy",                    "POST", EVAL_FORM,                            STAFF_POST),
    T("evaluations.results",                 "GET",  EVAL_FORM,                            STAFF_GET),
    T("evaluations.results_xlsx",            "GET",  EVAL_FORM,                            STAFF_GET),
    T("evaluations.edit_question",           "GET",  EVAL_QUESTION,                        STAFF_GET),
    T("evaluations.edit_question",           "POST", EVAL_QUESTION,                        STAFF_POST),
    T("evaluations.move_question",           "POST", EVAL_QUESTION,                        STAFF_POST),
    T("evaluations.delete_question",         "POST", EVAL_QUESTION,                        STAFF_POST),
    T("evaluations.open_part",               "POST", {"part_id": "evaluation.part1.id"},   STAFF_POST),
    T("evaluations.answer",                  "GET",  {"part_id": "evaluation.part1.id"},   "L 200 403 403 403 403 403"),
    T("evaluations.answer",                  "POST", {"part_id": "evaluation.part1.id"},   "L ok 403 403 403 403 403"),
    T("evaluations.part_results",            "GET",  {"part_id": "evaluation.closed_part.id"}, "L 403 403 200 403 200 200"),
    # Announcements and invitation letters
    T("announcements.staff_list",            "GET",  SLUG,                                 STAFF_GET),
    T("announcements.compose",               "GET",  SLUG,                                 STAFF_GET),
    T("announcements.compose",               "POST", SLUG,                                 STAFF_POST),
    T("announcements.detail",                "GET",  ANNOUNCEMENT,                         STAFF_GET),
    T("announcements.progress",              "GET",  ANNOUNCEMENT,                         STAFF_GET),
    T("announcements.letters_page",          "GET",  SLUG,                                 STAFF_GET),
    T("announcements.letters_page",          "POST", SLUG,                                 STAFF_POST),
    T("announcements.letters_zip",           "GET",  SLUG,                                 STAFF_GET),
    T("announcements.staff_letter",          "GET",  {"slug": "edition.slug", "registration_id": "registration.id"}, STAFF_GET),
    T("announcements.my_letter",             "GET",  {"registration_id": "registration.id"}, "L 200 404 404 404 404 404"),
    T("announcements.verify_letter",         "GET",  {"code": "letter.verification_code"}, PUBLIC),
]
# fmt: on


# --- the world ------------------------------------------------------------------------------


@dataclass
class World:
    owner: User
    other: User
    trainer: User
    otrainer: User
    staff: User
    admin: User
    coord: User
    ocoord: User
    edition: object
    module1: object
    em1: object
    em2: object
    session1: object
    session2: object
    registration: object
    other_registration: object
    material: object
    certificate: object
    other_certificate: object
    batch: object
    credential: object
    announcement: object
    letter: object
    tokens: object
    const: object
    evaluation: object

    def visitor(self, kind: str) -> User | None:
        return None if kind == "anon" else getattr(self, kind)


class _Namespace:
    def __init__(self, **values):
        self.__dict__.update(values)


def _write_pdf(certificate) -> None:
    from schoolmgr.certificates import files

    files.pdf_path(certificate).write_bytes(b"%PDF-1.4\n% test file\n%%EOF\n")


def _issue_credential(certificate):
    """The owner's Open Badges credential, from a snapshot as issuing writes it."""
    from schoolmgr.credentials.services import issue_for

    edition = certificate.registration.edition
    certificate.snapshot = {
        **certificate.snapshot,
        "school_name": "Test School",
        "edition_title": edition.title,
        "edition_slug": edition.slug,
        "start_date": edition.start_date.isoformat(),
        "end_date": edition.end_date.isoformat(),
        "dates": f"{edition.start_date} - {edition.end_date}",
        "modules": [{"name": "Module", "hours": 1.5}],
        "total_hours": 1.5,
        "issued_on": edition.end_date.isoformat(),
        "serial": certificate.serial,
        "verification_code": certificate.verification_code,
        "verify_url": f"http://127.0.0.1:5000/verify/{certificate.verification_code}",
    }
    return issue_for(certificate)


def build_world() -> World:
    """The world every row is walked in. Its factories commit object by object; nothing else
    writes meanwhile, so objects are not reloaded after each commit, only expired at the end
    (as the last commit would): a row takes about an eighth less time."""
    session = db.session()
    reloading, session.expire_on_commit = session.expire_on_commit, False
    try:
        world = _build_world()
    finally:
        session.expire_on_commit = reloading
    session.expire_all()
    return world


def _build_world() -> World:
    from schoolmgr.attendance.checkin import rotating_token
    from schoolmgr.auth.services import password_reset_token
    from schoolmgr.certificates.codes import new_code
    from schoolmgr.programme.trainers import invitation_token

    F = factories  # noqa: N806
    people = {
        "owner": F.UserFactory(full_name="Owner Participant"),
        "other": F.UserFactory(full_name="Other Participant"),
        "trainer": F.UserFactory(role=Role.TRAINER, full_name="Module Trainer"),
        "otrainer": F.UserFactory(role=Role.TRAINER, full_name="Other Trainer"),
        "staff": F.UserFactory(role=Role.STAFF),
        "admin": F.UserFactory(role=Role.ADMIN),
        "coord": F.UserFactory(
            coordinator=True, country=Country.SERBIA, full_name="Coordinator RS"
        ),
        "ocoord": F.UserFactory(
            coordinator=True, country=Country.ALBANIA, full_name="Coordinator AL"
        ),
    }
    invitee = F.UserFactory(role=Role.TRAINER, password_hash=None, full_name="Invited Trainer")
    # Requires a nomination, so the coordinators' pages show it.
    edition = F.EditionFactory(series="digital-transformation", nomination_required=True)
    module1 = F.ModuleFactory()
    F.ModuleFactory(name="Spare Module")  # in the catalogue, not yet in the edition
    em1 = F.EditionModuleFactory(edition=edition, module=module1, trainers=[people["trainer"]])
    em2 = F.EditionModuleFactory(edition=edition, trainers=[people["otrainer"]])
    session1 = F.SessionFactory(edition_module=em1)
    session2 = F.SessionFactory(
        edition_module=em2, starts_at=session1.starts_at + timedelta(days=1)
    )
    registration = F.RegistrationFactory(user=people["owner"], edition=edition, modules=[em1, em2])
    other_registration = F.RegistrationFactory(
        user=people["other"], edition=edition, modules=[em1, em2]
    )
    F.AttendanceFactory(session=session1, registration=registration)
    F.AttendanceFactory(
        session=session1, registration=other_registration, status=AttendanceStatus.ABSENT
    )
    material = F.MaterialFactory(
        edition_module=em1, kind=MaterialKind.LINK, url="https://example.org/slides"
    )
    certificate = F.CertificateFactory(registration=registration, verification_code=new_code())
    other_certificate = F.CertificateFactory(
        registration=other_registration, verification_code=new_code()
    )
    _write_pdf(certificate)
    _write_pdf(other_certificate)
    credential = _issue_credential(certificate)
    batch = CertificateBatch(edition=edition, started_by=people["staff"])
    db.session.add(batch)
    announcement = Announcement(
        edition=edition,
        sender=people["staff"],
        subject="Welcome",
        body="Dear {first_name}",
        idempotency_key="k" * 32,
        recipient_count=1,
    )
    db.session.add(announcement)
    letter = InvitationLetter(registration=registration, verification_code=new_code())
    db.session.add(letter)
    db.session.commit()
    evaluation = _evaluation_world(edition, em1, [registration, other_registration])
    tokens = _Namespace(
        reset=password_reset_token(people["owner"]),
        invitation=invitation_token(invitee),
        qr=rotating_token(session1),
    )
    return World(
        **people,
        edition=edition,
        module1=module1,
        em1=em1,
        em2=em2,
        session1=session1,
        session2=session2,
        registration=registration,
        other_registration=other_registration,
        material=material,
        certificate=certificate,
        other_certificate=other_certificate,
        batch=batch,
        credential=credential,
        announcement=announcement,
        letter=letter,
        tokens=tokens,
        const=_Namespace(css_file="css/app.css", one=1),
        evaluation=evaluation,
    )


def _evaluation_world(edition, em1, registrations) -> _Namespace:
    """A closed evaluation whose module-1 part has five answers, and an open one (module 1)."""
    from datetime import date

    from schoolmgr.evaluations import authoring, reporting
    from schoolmgr.models import EvaluationResponse, FormKind

    closed = authoring.create_form(edition, FormKind.EVALUATION)
    authoring.publish(closed)
    closed_part = next(p for p in closed.parts if p.edition_module_id == em1.id)
    for _ in range(reporting.MIN_GROUP_SIZE):
        db.session.add(EvaluationResponse(part_id=closed_part.id, submitted_on=date(2026, 1, 5)))
    db.session.commit()
    authoring.close(closed)
    form = authoring.create_form(edition, FormKind.EVALUATION)
    authoring.publish(form)
    part1 = next(p for p in form.parts if p.edition_module_id == em1.id)
    authoring.open_part_now(part1)
    return _Namespace(form=form, part1=part1, question=form.questions[0], closed_part=closed_part)


def empty_database() -> None:
    db.session.rollback()
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
    db.session.expunge_all()


# --- walking the table ----------------------------------------------------------------------


def url_for_row(app, row: Row, world: World) -> str:
    from flask import url_for

    values = {name: operator.attrgetter(path)(world) for name, path in row.args.items()}
    with app.test_request_context():
        return url_for(row.endpoint, **values)


def outcome_of(response) -> str:
    status = response.status_code
    if status in (301, 302, 303, 307, 308):
        location = response.headers.get("Location", "")
        return "L" if "/login" in location.split("?")[0] else "R"
    return str(status)


def matches(expected: str, observed: str) -> bool:
    if expected == "ok":
        if observed in ("R", "200"):
            return True
        return observed not in DENIED | {"401", "405"} and not observed.startswith("5")
    return expected == observed


def visit(app, row: Row, world: World, kind: str) -> tuple[str, str]:
    client = app.test_client()
    user = world.visitor(kind)
    if user is not None:
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
    url = url_for_row(app, row, world)
    response = client.open(url, method=row.method, data=row.data or None)
    return url, outcome_of(response)


def walk(app, row: Row) -> list[str]:
    """Visit the row's URL as each kind of visitor; return the mismatches."""
    problems = []
    world = build_world()
    for kind in WALK_ORDER:
        expected = row.expected[kind]
        url, observed = visit(app, row, world, kind)
        if not matches(expected, observed):
            problems.append(f"{kind}: expected {expected}, got {observed} for {row.method} {url}")
        if row.method != "GET" and observed not in DENIED | {"400"}:
            empty_database()  # an allowed POST may have changed or deleted the objects
            world = build_world()
    return problems


@pytest.fixture
def matrix_app(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash shows up as a 500 outcome
    return app


def rule_keys(app) -> set[tuple[str, str]]:
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
        if not rule.endpoint.startswith("test_")
    }


def test_every_route_has_a_row(app):
    missing = sorted(rule_keys(app) - {row.key for row in ROWS})
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    assert not missing, (
        "Routes without a row in the authorization matrix; add to ROWS, with the outcome for "
        f"each of {' '.join(VISITORS)}:\n"
        + "\n".join(
            f'  T("{endpoint}", "{method}", {dict.fromkeys(rules[endpoint].arguments, "?")}, '
            f'"? ? ? ? ? ? ?"),  # {rules[endpoint].rule}'
            for endpoint, method in missing
        )
    )


def test_every_row_names_a_route(app):
    stale = sorted({row.key for row in ROWS} - rule_keys(app))
    assert not stale, f"Rows for routes that no longer exist: {stale}"


def test_rows_are_unique():
    keys = [row.key for row in ROWS]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("row", ROWS, ids=lambda row: f"{row.endpoint}-{row.method}")
def test_route_answers_each_visitor_as_the_table_says(matrix_app, row):
    problems = walk(matrix_app, row)
    assert not problems, "\n".join(problems)


# --- participants never reach another participant's things by guessing ids --------------------


def test_participants_cannot_reach_other_participants_things_by_guessing_ids(app, client):
    """Walk every URL with an integer id as the other participant, over every id in use."""
    world = build_world()
    with client.session_transaction() as session:
        session["_user_id"] = world.other.get_id()
    owned = {
        "registration_id": world.registration.id,
        "certificate_id": world.certificate.id,
        "user_id": world.owner.id,
    }
    secrets = [world.owner.email, world.owner.full_name, world.registration.motivation]
    checked = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        ints = [name for name in rule.arguments if name in owned]
        if not ints or set(rule.arguments) - set(ints) - {"slug"}:
            continue
        from flask import url_for

        with app.test_request_context():
            values = {name: owned[name] for name in ints}
            if "slug" in rule.arguments:
                values["slug"] = world.edition.slug
            url = url_for(rule.endpoint, **values)
        response = client.get(url)
        checked += 1
        assert response.status_code in (302, 403, 404), f"{url}: {response.status_code}"
        body = response.get_data(as_text=True)
        for secret in secrets:
            assert secret not in body, f"{url} shows {secret!r}"
    assert checked >= 3


def test_a_coordinator_of_another_country_never_sees_the_owners_data(app, client):
    """Every page the table lets the Albanian coordinator open, with the Serbian owner's
    registration pending in a nomination edition, shows nothing of the owner; the Serbian
    coordinator's nomination page does show them."""
    world = build_world()
    world.registration.status = RegistrationStatus.PENDING
    world.registration.needs = "Needs a sign-language interpreter"
    db.session.commit()
    secrets = [world.owner.email, world.owner.full_name, world.registration.motivation]
    pages = [
        url_for_row(app, row, world)
        for row in ROWS
        if row.method == "GET"
        and row.expected["ocoord"] in ("200", "ok")
        and row.expected["anon"] != "200"  # public, or a secret link (the token is the key)
    ]
    with client.session_transaction() as session:
        session["_user_id"] = world.ocoord.get_id()
    for url in pages:
        body = client.get(url).get_data(as_text=True)
        leaked = [s for s in secrets if s in body]
        assert not leaked, f"{url} shows {leaked} to the other country's coordinator"
    with client.session_transaction() as session:
        session["_user_id"] = world.coord.get_id()
    own = client.get(f"/coordinator/editions/{world.edition.slug}").get_data(as_text=True)
    assert world.owner.full_name in own
    assert len(pages) >= 5


def test_certificate_files_are_not_served_by_guessable_names(app, client, login):
    world = build_world()
    login(world.other)
    from schoolmgr.certificates import files

    stored = files.pdf_path(world.certificate)
    for guess in (
        f"/static/../instance/storage/certificates/{stored.name}",
        f"/static/certificates/{stored.name}",
        f"/storage/certificates/{stored.name}",
        f"/me/certificates/{world.certificate.id}.pdf",
    ):
        response = client.get(guess)
        assert response.status_code in (302, 403, 404), guess
        assert not response.data.startswith(b"%PDF"), guess


def test_the_owner_sees_their_own_data_and_not_the_others(app, client):
    world = build_world()
    other_name = world.other.full_name
    with client.session_transaction() as session:
        session["_user_id"] = world.owner.get_id()

    pages = ["/me/registrations", "/me/certificates", "/privacy/export.json", "/me/schedule"]
    for url in pages:
        response = client.get(url)
        if response.status_code == 404 and url.startswith("/me/schedule"):
            continue
        assert response.status_code == 200, url
        assert other_name not in response.get_data(as_text=True), url
        assert world.other.email not in response.get_data(as_text=True), url

    pdf = client.get(f"/me/certificates/{world.other_certificate.id}.pdf")
    assert pdf.status_code == 404
    own = client.get(f"/me/certificates/{world.certificate.id}.pdf")
    assert own.status_code == 200 and own.data.startswith(b"%PDF")


def test_a_cancelled_registration_of_someone_else_stays_untouched(app, client):
    world = build_world()
    with client.session_transaction() as session:
        session["_user_id"] = world.other.get_id()

    response = client.post(f"/me/registrations/{world.registration.id}/cancel")

    assert response.status_code == 404
    db.session.expire_all()
    status = db.session.scalar(
        sa.select(type(world.registration).status).where(
            type(world.registration).id == world.registration.id
        )
    )
    assert status == RegistrationStatus.ACCEPTED


def test_participants_only_materials_stay_hidden_from_anonymous_visitors(app, client):
    world = build_world()
    url = f"/editions/{world.edition.slug}/modules/{world.module1.slug}"

    anonymous = client.get(url)
    with client.session_transaction() as session:
        session["_user_id"] = world.owner.get_id()
    participant = client.get(url)

    assert world.material.title not in anonymous.get_data(as_text=True)
    assert world.material.url not in anonymous.get_data(as_text=True)
    assert world.material.title in participant.get_data(as_text=True)


def test_nobody_can_edit_the_audit_log_through_the_app(app):
    audit_rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("audit.")]
    assert audit_rules, "the audit log page is missing"
    for rule in audit_rules:
        assert rule.methods - {"HEAD", "OPTIONS"} == {"GET"}, rule


def test_walking_every_id_as_a_participant_reveals_nobody_else(app, client):
    """Guess ids 1..10 in every GET route that takes one integer: whatever answers 200 must not
    show the other participant's name, email, motivation, needs or certificate code."""
    from flask import url_for

    world = build_world()
    world.registration.needs = "Needs a sign-language interpreter"
    db.session.commit()
    secrets = [
        world.owner.email,
        world.owner.full_name,
        world.registration.motivation,
        world.registration.needs,
        world.certificate.verification_code,
    ]
    with client.session_transaction() as session:
        session["_user_id"] = world.other.get_id()
    tried = 0
    for rule in app.url_map.iter_rules():
        int_args = [
            a for a, conv in rule._converters.items() if type(conv).__name__ == "IdConverter"
        ]
        if "GET" not in rule.methods or len(int_args) != 1 or set(rule.arguments) != set(int_args):
            continue
        for guess in range(1, 11):
            with app.test_request_context():
                url = url_for(rule.endpoint, **{int_args[0]: guess})
            response = client.get(url)
            tried += 1
            assert response.status_code < 500, url
            if response.status_code == 200:
                body = _readable_text(response)
                leaked = [s for s in secrets if s and s in body]
                assert not leaked, f"{url} shows {leaked}"
    assert tried >= 100  # every id-taking page, ten guesses each


def _readable_text(response) -> str:
    """What a person reads in the response: a real PDF's text (pdftotext), else the body."""
    if response.mimetype == "application/pdf":
        import subprocess

        result = subprocess.run(["pdftotext", "-", "-"], input=response.data, capture_output=True)
        if result.returncode == 0:
            return result.stdout.decode()
    return response.get_data().decode(errors="replace")
