"""The demo school speaks every language: participants reading each one, and a past edition
whose certificates are in English and each participant's own language."""

import subprocess

import sqlalchemy as sa

from schoolmgr.certificates import batches, files, issuing
from schoolmgr.i18n import LANGUAGES
from schoolmgr.models import Edition, Role, User


def test_demo_participants_read_every_language_and_2019_certificates_are_bilingual(db):
    from schoolmgr.demo import seed_demo

    seed_demo()
    languages = set(
        db.session.scalars(sa.select(User.preferred_language).where(User.role == Role.PARTICIPANT))
    )
    assert languages == {language.tag for language in LANGUAGES}

    edition = db.session.scalar(
        sa.select(Edition).where(Edition.slug == "digital-transformation-2019")
    )
    assert edition.certificate_language == "participant"
    issued = {}
    for registration_id in batches.missing_registration_ids(edition):
        certificate = issuing.issue_one(edition, registration_id, None)
        user = certificate.registration.user
        expected = ["en"] if user.preferred_language == "en" else ["en", user.preferred_language]
        assert certificate.snapshot["languages"] == expected, user.full_name
        issued.setdefault(user.preferred_language, certificate)
    # Every regional language of the edition's participants is on some certificate.
    assert {"en", "sq", "mk", "sr-Cyrl", "cnr"} <= set(issued)
    for certificate in issued.values():
        text = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", str(files.pdf_path(certificate)), "-"],
            capture_output=True,
            check=True,
        ).stdout.decode("utf-8")
        assert certificate.registration.user.full_name in text
