"""Emails queued by requests served at the same moment by different workers are each sent once:
every worker delivers after its request, and they must not send each other's messages twice.
PostgreSQL only (row locks skipped by the other deliverers)."""

import threading
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from schoolmgr import mail
from schoolmgr.extensions import db
from schoolmgr.models import EmailStatus, OutboundEmail
from tests.dbutil import postgres_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not postgres_url(), reason="TEST_DATABASE_URL is not set"),
]


def test_three_workers_delivering_at_once_send_every_message_exactly_once(app, monkeypatch):
    db.session.add_all(
        OutboundEmail(recipient=f"p{n}@example.org", subject=f"Message {n}", body_text="Hello")
        for n in range(30)
    )
    db.session.commit()
    real_send = mail._send

    def slow_send(email):  # a mail server that takes a moment: the deliverers overlap
        time.sleep(0.02)
        real_send(email)

    monkeypatch.setattr(mail, "_send", slow_send)
    barrier = threading.Barrier(3)
    results = []

    def deliverer():
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                results.append(mail.deliver_pending())
            finally:
                db.session.remove()

    threads = [threading.Thread(target=deliverer) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    sent_to = Counter(message["To"] for message in mail.outbox(app))
    assert len(sent_to) == 30 and set(sent_to.values()) == {1}, sent_to
    assert sum(sent for sent, _failed in results) == 30
    db.session.expire_all()
    rows = db.session.execute(sa.select(OutboundEmail.status, OutboundEmail.attempts)).all()
    assert Counter(rows) == {(EmailStatus.SENT, 1): 30}
