"""Large announcements on the RQ worker: render and queue the emails chunk by chunk.

Each chunk is committed with the progress count, so the page shows progress and a job killed
half-way is resumed by running it again (recipients already handled are skipped).
"""

from flask import current_app

from schoolmgr import create_app
from schoolmgr.announcements.services import process
from schoolmgr.certificates.jobs import QUEUE_NAME
from schoolmgr.extensions import db
from schoolmgr.mail import deliver_pending
from schoolmgr.models import Announcement, AnnouncementStatus


def enqueue(announcement_id: int) -> None:
    # Imported here: Redis and RQ are needed only where REDIS_URL is set.
    from redis import Redis
    from rq import Queue

    queue = Queue(QUEUE_NAME, connection=Redis.from_url(current_app.config["REDIS_URL"]))
    queue.enqueue(run_job, announcement_id, job_timeout=3600)


def run(announcement_id: int) -> None:
    """Handle every remaining recipient, one committed chunk at a time, then deliver."""
    announcement = db.session.get(Announcement, announcement_id)
    if announcement is None:
        return
    if announcement.status == AnnouncementStatus.FAILED:
        announcement.status = AnnouncementStatus.SENDING
    try:
        while announcement.status != AnnouncementStatus.SENT:
            process(announcement)
            db.session.commit()
    except Exception:
        db.session.rollback()
        announcement.status = AnnouncementStatus.FAILED
        db.session.commit()
        raise
    deliver_pending(limit=1000)


def run_job(announcement_id: int) -> None:
    """RQ entry point: build the app, then run."""
    app = create_app()
    with app.app_context():
        run(announcement_id)
