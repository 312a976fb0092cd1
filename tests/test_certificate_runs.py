"""A bulk issuing run killed half-way (issue 12.8): the pages count the certificates really
issued, and staff take the run over from the page once its worker is gone."""

import shutil
import socket
import subprocess
import tempfile
import time
from datetime import timedelta

import pytest
import redis
import sqlalchemy as sa
from rq.job import Job, JobStatus

from schoolmgr.certificates import batches, issuing
from schoolmgr.models import Certificate, CertificateBatch, CertificateBatchStatus, Role, utcnow
from tests import factories
from tests.test_certificates_services import P, attend, past_edition  # noqa: F401 (fixture)


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@pytest.fixture
def killed_run(past_edition, db):  # noqa: F811
    """Five eligible participants; a run that issued three, then its server was killed before
    it recorded any progress."""
    edition, sessions = past_edition
    registrations = [factories.RegistrationFactory(edition=edition) for _ in range(5)]
    for registration in registrations:
        attend(registration, sessions, [P] * 10)
    staff = factories.UserFactory(role=Role.STAFF)
    batch = batches.start_batch(edition, staff)
    batches.claim_batch(batch)
    batch.worker = f"{socket.gethostname()}:{dead_pid()}"
    db.session.commit()
    for registration in registrations[:3]:
        issuing.issue_for_registration(registration, staff)
    db.session.refresh(batch)
    assert (batch.done, batch.total, batch.status) == (0, 5, CertificateBatchStatus.RUNNING)
    return edition, batch, staff


def test_the_pages_show_the_certificates_really_issued_and_offer_the_take_over(
    client, login, killed_run
):
    edition, batch, staff = killed_run
    login(staff)

    eligibility = client.get(f"/staff/editions/{edition.slug}/certificates")
    page = client.get(f"/staff/editions/{edition.slug}/certificates/runs/{batch.id}")
    progress = client.get(f"/staff/editions/{edition.slug}/certificates/runs/{batch.id}.json")

    assert "Last issuing run: 3 of 5" in eligibility.text
    assert '3</span> of <span data-field="total">5</span> issued' in page.text
    assert "Take over and resume issuing" in page.text
    assert progress.json["done"] == 3 and progress.json["worker_gone"] is True
    assert progress.json["running"] is False
    assert progress.json["label"] == "Stopped: the process running it is gone"


def test_the_progress_polled_by_the_page_is_worded_in_the_readers_language(
    client, login, db, killed_run
):
    """The page's script wrote "Finished" in English over an Albanian page."""
    edition, batch, staff = killed_run
    staff.preferred_language = "sq"
    db.session.commit()
    login(staff)
    url = f"/staff/editions/{edition.slug}/certificates/runs/{batch.id}"

    gone = client.get(f"{url}.json").json
    batch.status, batch.finished_at = CertificateBatchStatus.FINISHED, utcnow()
    db.session.commit()
    finished = client.get(f"{url}.json").json

    assert gone["label"] == "Ndalur: procesi që e ekzekutonte nuk ekziston më"
    assert finished["label"] == "Përfunduar" and finished["running"] is False
    assert '<span data-field="label">Përfunduar</span>' in client.get(url).text


def test_staff_take_the_run_over_from_the_page_and_it_resumes(client, login, db, killed_run):
    edition, batch, staff = killed_run
    login(staff)

    response = client.post(f"/staff/editions/{edition.slug}/certificates/issue")

    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(CertificateBatch, batch.id).status == CertificateBatchStatus.FAILED
    resumed = db.session.scalars(sa.select(CertificateBatch).order_by(CertificateBatch.id)).all()[
        -1
    ]
    assert resumed.id != batch.id and resumed.status == CertificateBatchStatus.FINISHED
    assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 5
    page = client.get(response.headers["Location"])
    assert "Finished" in page.text and "2</span> of" in page.text
    assert "Take over" not in page.text


def test_a_run_whose_worker_is_alive_is_not_taken_over(client, login, db, killed_run):
    edition, batch, staff = killed_run
    batch.worker = batches.this_worker()  # this very process: alive, heartbeat fresh
    db.session.commit()
    login(staff)

    page = client.get(f"/staff/editions/{edition.slug}/certificates/runs/{batch.id}")
    refused = client.post(
        f"/staff/editions/{edition.slug}/certificates/issue", follow_redirects=True
    )

    assert "Issuing…" in page.text and "Take over" not in page.text
    assert "being issued already" in refused.text
    db.session.expire_all()
    assert db.session.get(CertificateBatch, batch.id).status == CertificateBatchStatus.RUNNING


def test_a_worker_on_another_host_is_gone_when_its_heartbeat_stops(db, killed_run):
    _edition, batch, _staff = killed_run
    batch.worker = "another-host:12345"
    db.session.commit()
    assert not batches.batch_worker_gone(batch)

    batch.updated_at = utcnow() - batches.BATCH_STALE_AFTER - timedelta(seconds=1)
    db.session.commit()

    assert batches.batch_worker_gone(batch)


@pytest.fixture
def private_redis(app):
    """A Redis server of this test's own (on a Unix socket), set as the app's REDIS_URL."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    folder = tempfile.mkdtemp(prefix="rq-", dir="/tmp")  # a socket path has ~100 characters
    socket_path = f"{folder}/redis.sock"
    process = subprocess.Popen(
        [server, "--port", "0", "--unixsocket", socket_path, "--save", "", "--dir", folder],
        stdout=subprocess.DEVNULL,
    )
    url = f"unix://{socket_path}"
    connection = redis.Redis.from_url(url)
    try:
        for _ in range(100):
            try:
                connection.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        app.config["REDIS_URL"] = url
        yield connection
    finally:
        connection.close()
        process.terminate()
        process.wait()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize(
    ("status", "gone"),
    [("started", False), ("queued", False), ("failed", True), ("stopped", True), ("missing", True)],
)
def test_with_rq_the_job_status_tells_whether_the_worker_is_gone(
    db, killed_run, private_redis, status, gone
):
    _edition, batch, _staff = killed_run
    assert batches.enqueue_batch(batch.id) == "queued"
    db.session.refresh(batch)
    job = Job.fetch(batch.job_id, connection=private_redis)
    if status == "missing":
        job.delete()
    else:
        job.set_status(JobStatus(status))
    batch.worker = "rq-worker-host:4242"
    db.session.commit()

    assert batches.batch_worker_gone(batch) is gone


def test_the_run_and_its_polled_progress_group_large_counts_as_the_reader_writes_them(
    client, login, db, killed_run
):
    """The page's script wrote "2500" over a Bosnian page that said "2.500"."""
    edition, batch, staff = killed_run
    batch.total, batch.failed = 2500, 1200
    staff.preferred_language = "bs"
    db.session.commit()
    login(staff)
    url = f"/staff/editions/{edition.slug}/certificates/runs/{batch.id}"

    page = client.get(url).text
    shown = client.get(f"{url}.json").json["shown"]

    assert '<span data-field="total">2.500</span>' in page
    assert '<span data-field="failed">1.200</span>' in page
    assert shown == {"done": "3", "total": "2.500", "failed": "1.200"}
