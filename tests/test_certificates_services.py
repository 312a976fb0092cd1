"""Certificate rules: eligibility and reasons, exceptions, idempotent issuing, reissue, revoke."""

import io
from datetime import timedelta
from pathlib import Path

import pypdf
import pytest
import sqlalchemy as sa

from schoolmgr.certificates import (
    batches,
    codes,
    eligibility,
    files,
    issuing,
    lookup,
    verification,
)
from schoolmgr.certificates.errors import CertificateError
from schoolmgr.mail import deliver_pending
from schoolmgr.models import (
    AttendanceStatus,
    AuditEvent,
    Certificate,
    CertificateBatchStatus,
    CertificateOverride,
    Registration,
    Role,
    utcnow,
)
from schoolmgr.timeutils import local
from tests import factories


@pytest.fixture
def past_edition(app):
    """A past edition with two modules of five sessions each; Crisis Communication mandatory."""
    edition = factories.EditionFactory(past=True, certificate_threshold=80, title="Spring School")
    agile = factories.EditionModuleFactory(
        edition=edition, module=factories.ModuleFactory(name="Agile"), position=0
    )
    crisis = factories.EditionModuleFactory(
        edition=edition,
        module=factories.ModuleFactory(name="Crisis Communication"),
        position=1,
        mandatory=True,
    )
    sessions = []
    for em, offset in ((agile, 0), (crisis, 1)):
        for i in range(5):
            s = factories.SessionFactory(edition_module=em)
            s.starts_at = s.starts_at + timedelta(days=offset, hours=i * 0 + i)
            s.ends_at = s.starts_at + timedelta(hours=1)
            sessions.append(s)
    factories.db.session.commit()
    return edition, sessions


def attend(registration, sessions, statuses):
    for session, status in zip(sessions, statuses, strict=False):
        factories.AttendanceFactory(session=session, registration=registration, status=status)


P, A, E = AttendanceStatus.PRESENT, AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED


def by_id(rows, registration):
    return next(r for r in rows if r.registration.id == registration.id)


def test_eligibility_reasons(past_edition):
    edition, sessions = past_edition
    good = factories.RegistrationFactory(edition=edition, user__full_name="Đorđe Čolić")
    attend(good, sessions, [P] * 10)
    low = factories.RegistrationFactory(edition=edition)
    attend(low, sessions, [P] * 6 + [A] * 4)
    missed = factories.RegistrationFactory(edition=edition)
    attend(missed, sessions, [P] * 5 + [P, P, P, A, A])  # 8 of 10, but 3 of 5 of the mandatory

    rows = eligibility.evaluate_edition(edition)

    assert by_id(rows, good).state == "eligible"
    assert by_id(rows, low).state == "ineligible"
    assert "attended 6 of 10 sessions, needs 8" in by_id(rows, low).reasons
    assert by_id(rows, missed).state == "ineligible"
    assert "missed mandatory module Crisis Communication" in by_id(rows, missed).reasons
    assert by_id(rows, low).can_still_reach is False


def test_can_still_reach_while_sessions_remain(app):
    edition = factories.EditionFactory(certificate_threshold=80)  # starts in 30 days
    em = factories.EditionModuleFactory(edition=edition)
    for _ in range(5):
        factories.SessionFactory(edition_module=em)
    registration = factories.RegistrationFactory(edition=edition)

    (row,) = eligibility.evaluate_edition(edition)

    assert row.registration.id == registration.id
    assert row.state == "pending"
    assert row.can_still_reach is True


def test_excused_absences_follow_the_edition_setting(past_edition):
    edition, sessions = past_edition
    registration = factories.RegistrationFactory(edition=edition)
    attend(registration, sessions, [P] * 6 + [E] * 4)
    assert by_id(eligibility.evaluate_edition(edition), registration).eligible

    edition.excused_counts_as_attended = False
    factories.db.session.commit()
    row = by_id(eligibility.evaluate_edition(edition), registration)
    assert not row.eligible
    assert "attended 6 of 10 sessions, needs 8" in row.reasons


def test_exception_needs_a_reason_and_is_audited(past_edition):
    edition, sessions = past_edition
    staff = factories.UserFactory(role=Role.STAFF)
    registration = factories.RegistrationFactory(edition=edition)
    attend(registration, sessions, [P] * 5 + [A] * 5)

    with pytest.raises(CertificateError) as exc:
        eligibility.set_override(edition, registration.id, "granted", "", staff)
    assert exc.value.code == "reason_required"

    eligibility.set_override(
        edition, registration.id, "granted", "Hospitalised, medical note", staff
    )

    assert registration.certificate_override == CertificateOverride.GRANTED
    assert by_id(eligibility.evaluate_edition(edition), registration).state == "exception"
    event = factories.db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "certificate.exception_granted")
    )
    assert event.reason == "Hospitalised, medical note"
    assert event.actor_id == staff.id
    assert event.edition_id == edition.id


def test_excluded_participant_gets_no_certificate(past_edition):
    edition, sessions = past_edition
    staff = factories.UserFactory(role=Role.STAFF)
    registration = factories.RegistrationFactory(edition=edition)
    attend(registration, sessions, [P] * 10)
    eligibility.set_override(edition, registration.id, "excluded", "Breach of conduct", staff)

    with pytest.raises(CertificateError) as exc:
        issuing.issue_one(edition, registration.id, staff)
    assert exc.value.code == "excluded"
    assert batches.missing_registration_ids(edition) == []


def test_issue_writes_pdf_snapshot_hash_audit_and_email(past_edition, app, outbox):
    edition, sessions = past_edition
    staff = factories.UserFactory(role=Role.STAFF)
    registration = factories.RegistrationFactory(
        edition=edition, user__full_name="Ђорђе Љубичић Ѓорѓиевски"
    )
    attend(registration, sessions, [P] * 10)

    certificate = issuing.issue_one(edition, registration.id, staff)
    deliver_pending()

    path = Path(app.config["STORAGE_DIR"]) / "certificates" / certificate.pdf_name
    content = path.read_bytes()
    import hashlib

    assert hashlib.sha256(content).hexdigest() == certificate.sha256
    text = pypdf.PdfReader(io.BytesIO(content)).pages[0].extract_text()
    assert "Ђорђе Љубичић Ѓорѓиевски" in text
    assert certificate.snapshot["name"] == "Ђорђе Љубичић Ѓорѓиевски"
    assert certificate.snapshot["modules"] == [
        {"name": "Agile", "hours": 5.0},
        {"name": "Crisis Communication", "hours": 5.0},
    ]
    assert codes.normalise(certificate.verification_code) == certificate.verification_code
    assert not list(path.parent.glob("*.tmp"))
    assert [m["To"] for m in outbox] == [registration.user.email]
    assert "/me/certificates" in outbox[0].get_body(("plain",)).get_content()
    # The audit log names the certificate it is about.
    assert factories.db.session.scalars(
        sa.select(AuditEvent.target_id).where(AuditEvent.action == "certificate.issued")
    ).all() == [certificate.id]


def test_issuing_twice_keeps_one_certificate(past_edition):
    edition, sessions = past_edition
    staff = factories.UserFactory(role=Role.STAFF)
    registration = factories.RegistrationFactory(edition=edition)
    attend(registration, sessions, [P] * 10)

    first = issuing.issue_one(edition, registration.id, staff)
    second = issuing.issue_one(edition, registration.id, staff)

    assert first.id == second.id
    assert factories.db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 1


def test_ineligible_cannot_be_issued(past_edition):
    edition, sessions = past_edition
    registration = factories.RegistrationFactory(edition=edition)
    attend(registration, sessions, [A] * 10)
    with pytest.raises(CertificateError) as exc:
        issuing.issue_one(edition, registration.id, factories.UserFactory(role=Role.STAFF))
    assert exc.value.code == "not_eligible"


def test_bulk_issue_is_resumable(past_edition, app):
    edition, sessions = past_edition
    regs = [factories.RegistrationFactory(edition=edition) for _ in range(4)]
    for r in regs:
        attend(r, sessions, [P] * 10)
    ineligible = factories.RegistrationFactory(edition=edition)
    attend(ineligible, sessions, [A] * 10)
    # A run killed half-way: one certificate issued, plus a stray temporary file.
    issuing.issue_for_registration(regs[0], None)
    storage = Path(app.config["STORAGE_DIR"]) / "certificates"
    (storage / ".stray.pdf.tmp").write_bytes(b"half")

    batch = batches.start_batch(edition, None)
    assert batch.total == 3
    batch = batches.run_batch(batch.id)

    assert batch.status == CertificateBatchStatus.FINISHED
    assert (batch.done, batch.failed) == (3, 0)
    current = factories.db.session.scalars(sa.select(Certificate)).all()
    assert sorted(c.registration_id for c in current) == sorted(r.id for r in regs)
    # Running again issues nothing new.
    again = batches.run_batch(batches.start_batch(edition, None).id)
    assert (again.total, again.done) == (0, 0)


def test_snapshot_does_not_follow_later_changes(past_edition):
    edition, sessions = past_edition
    registration = factories.RegistrationFactory(edition=edition, user__full_name="Marija Šarić")
    attend(registration, sessions, [P] * 10)
    certificate = issuing.issue_for_registration(registration, None)[0]

    registration.user.full_name = "Marija Šarić-Kovač"
    edition.title = "Renamed"
    factories.db.session.commit()

    facts = verification.public_facts(certificate)
    assert facts["holder"] == "Marija Šarić"
    assert facts["edition"] == "Spring School"


def test_reissue_supersedes_and_revoke_records_reason(past_edition):
    edition, sessions = past_edition
    staff = factories.UserFactory(role=Role.STAFF)
    registration = factories.RegistrationFactory(edition=edition, user__full_name="Emir Hadzic")
    attend(registration, sessions, [P] * 10)
    old = issuing.issue_one(edition, registration.id, staff)
    registration.user.full_name = "Emir Hadžić"
    factories.db.session.commit()

    new = issuing.reissue(old, staff, "Name spelling corrected")

    assert old.status == "superseded"
    assert old.superseded_by_id == new.id
    assert new.snapshot["name"] == "Emir Hadžić"
    assert verification.public_facts(old)["superseded_by"] == new.serial
    assert lookup.current_certificate(registration).id == new.id
    with pytest.raises(CertificateError) as exc:
        issuing.reissue(old, staff, "again please")
    assert exc.value.code == "superseded"

    with pytest.raises(CertificateError) as exc:
        issuing.revoke(new, staff, "nonsense", "whatever reason")
    assert exc.value.code == "bad_category"
    issuing.revoke(new, staff, "issued_in_error", "Attendance sheet was wrong")
    facts = verification.public_facts(new)
    assert facts["status"] == "revoked"
    # The day in the edition's time zone (the next one late in a UTC evening).
    assert (
        facts["revoked_on"] == local(new.revoked_at, new.registration.edition.tz).date().isoformat()
    )
    assert facts["revoked_reason"] == "Issued in error"
    actions = set(factories.db.session.scalars(sa.select(AuditEvent.action)))
    assert {"certificate.issued", "certificate.reissued", "certificate.revoked"} <= actions


def test_codes_are_long_grouped_and_forgiving():
    code = codes.new_code()
    assert len(code.replace("-", "")) == 20
    assert code.count("-") == 4
    assert not set(code) & set("01ILO")
    assert codes.normalise(code.lower().replace("-", " ")) == code
    assert codes.normalise("ABCD") is None
    assert len({codes.new_code() for _ in range(1000)}) == 1000


def test_find_by_code_is_case_insensitive(past_edition):
    edition, sessions = past_edition
    registration = factories.RegistrationFactory(edition=edition)
    attend(registration, sessions, [P] * 10)
    certificate = issuing.issue_for_registration(registration, None)[0]
    assert verification.find_by_code(certificate.verification_code.lower()) == certificate
    assert verification.find_by_code("AAAA-BBBB-CCCC-DDDD-EEEE") is None


def test_a_second_run_waits_but_an_interrupted_one_is_taken_over(past_edition):
    edition, sessions = past_edition
    registration = factories.RegistrationFactory(edition=edition)
    attend(registration, sessions, [P] * 10)
    first = batches.start_batch(edition, None)

    with pytest.raises(CertificateError) as exc:
        batches.start_batch(edition, None)
    assert exc.value.code == "batch_running"

    first.updated_at = utcnow() - timedelta(minutes=11)  # the worker died long ago
    factories.db.session.commit()
    second = batches.run_batch(batches.start_batch(edition, None).id)

    assert first.status == CertificateBatchStatus.FAILED
    assert second.status == CertificateBatchStatus.FINISHED
    assert second.done == 1


def test_parallel_run_renders_in_workers_and_records_once(past_edition, app):
    """Two worker processes render; this process is the only database writer."""
    import hashlib

    edition, sessions = past_edition
    regs = [factories.RegistrationFactory(edition=edition) for _ in range(5)]
    for r in regs:
        attend(r, sessions, [P] * 10)
    issuing.issue_for_registration(regs[0], None)

    batch = batches.run_batch(batches.start_batch(edition, None).id, processes=2, chunk_size=2)

    assert (batch.status, batch.done, batch.failed) == (CertificateBatchStatus.FINISHED, 4, 0)
    certificates = factories.db.session.scalars(sa.select(Certificate)).all()
    assert sorted(c.registration_id for c in certificates) == sorted(r.id for r in regs)
    for certificate in certificates:
        content = files.read_pdf(certificate)
        assert hashlib.sha256(content).hexdigest() == certificate.sha256


def test_edition_standing_agrees_with_each_participants_own_evaluation(past_edition):
    """The cheap whole-edition pass (counts, issue all) decides as the one-by-one rules do."""
    edition, sessions = past_edition
    staff = factories.UserFactory(role=Role.STAFF)
    plans = {
        "good": [P] * 10,
        "low": [P] * 6 + [A] * 4,
        "missed": [P] * 5 + [P, P, P, A, A],
        "excused": [P] * 6 + [E] * 4,
        "granted": [P] * 5 + [A] * 5,
        "excluded": [P] * 10,
    }
    registrations = {}
    for name, statuses in plans.items():
        registrations[name] = factories.RegistrationFactory(
            edition=edition, user__full_name=f"Person {name}"
        )
        attend(registrations[name], sessions, statuses)
    eligibility.set_override(edition, registrations["granted"].id, "granted", "Medical note", staff)
    eligibility.set_override(edition, registrations["excluded"].id, "excluded", "Left early", staff)
    issuing.issue_for_registration(registrations["good"], None)

    standing = eligibility.edition_standing(edition)

    assert [s.name for s in standing.standings] == sorted(f"Person {n}" for n in plans)
    for s in standing.standings:
        own = eligibility.evaluate_registration(
            factories.db.session.get(Registration, s.registration_id)
        )
        assert (s.state, s.eligible) == (own.state, own.eligible), s.name
    assert standing.counts == {
        "eligible": 2,  # good, excused
        "exception": 1,
        "pending": 0,
        "ineligible": 2,  # low, missed
        "excluded": 1,
    }
    assert standing.issued == 1
    assert set(standing.missing_ids) == {registrations[n].id for n in ("excused", "granted")}
    assert batches.missing_registration_ids(edition) == standing.missing_ids


def _prepared_chunk(edition, sessions, count):
    regs = [factories.RegistrationFactory(edition=edition) for _ in range(count)]
    for r in regs:
        attend(r, sessions, [P] * 10)
    factories.db.session.commit()
    prepared, existing, failures = issuing.prepare_chunk([r.id for r in regs], None)
    assert (len(prepared), existing, failures) == (count, 0, [])
    return regs, prepared


def _count(model, *where):
    return factories.db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_recording_a_chunk_reads_the_same_for_two_or_four_certificates(past_edition, outbox):
    """Recording loads registrations, users and the edition once per chunk (no N+1)."""
    from schoolmgr.models import BadgeCredential
    from tests.querycount import count_queries

    edition, sessions = past_edition
    selects = []
    for count in (2, 4):
        _regs, prepared = _prepared_chunk(edition, sessions, count)
        factories.db.session.expire_all()
        with count_queries() as queries:
            assert issuing.record_chunk(prepared, None) == (count, [])
        selects.append([s for s in queries.statements if s.startswith("SELECT")])
    assert len(selects[0]) == len(selects[1]), selects
    # Every certificate got its row, audit event, email and signed credential.
    assert _count(Certificate) == 6
    assert _count(AuditEvent, AuditEvent.action == "certificate.issued") == 6
    issued_ids = factories.db.session.scalars(
        sa.select(AuditEvent.target_id).where(AuditEvent.action == "certificate.issued")
    ).all()
    assert sorted(issued_ids) == sorted(factories.db.session.scalars(sa.select(Certificate.id)))
    assert _count(BadgeCredential, BadgeCredential.jwt != "") == 6
    deliver_pending()
    assert len(outbox) == 6


def test_a_refused_certificate_does_not_cost_the_rest_of_its_chunk(past_edition, app, monkeypatch):
    edition, sessions = past_edition
    regs, prepared = _prepared_chunk(edition, sessions, 4)
    # Another run issued the first one meanwhile: theirs stands, our file goes.
    rival, _created = issuing.issue_for_registration(regs[0], None)
    # The third one fails for a reason of its own.
    broken = regs[2].id
    notify = issuing._notify_holder

    def notify_or_fail(certificate):
        if certificate.registration_id == broken:
            raise RuntimeError("mail template broken")
        notify(certificate)

    monkeypatch.setattr(issuing, "_notify_holder", notify_or_fail)

    done, failures = issuing.record_chunk(prepared, None)

    assert done == 3, failures
    assert [(f["registration_id"], f["reason"]) for f in failures] == [
        (broken, "RuntimeError: mail template broken")
    ]
    current = factories.db.session.scalars(sa.select(Certificate)).all()
    assert sorted(c.registration_id for c in current) == sorted(
        [regs[0].id, regs[1].id, regs[3].id]
    )
    assert by_id(current, regs[0]).id == rival.id
    storage = Path(app.config["STORAGE_DIR"]) / "certificates"
    assert not (storage / prepared[0]["pdf_name"]).exists()
    assert _count(AuditEvent, AuditEvent.action == "certificate.issued") == 3
