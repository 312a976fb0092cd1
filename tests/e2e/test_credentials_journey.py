"""Open Badges end to end: a participant downloads the baked badge from "My certificates", a
visitor checks it on the verify page; a tampered credential is refused."""

import base64
import io
import json
import re

import sqlalchemy as sa
from PIL import Image

from schoolmgr.certificates import issuing
from schoolmgr.demo import DEMO_PASSWORD, seed_demo
from schoolmgr.extensions import db
from schoolmgr.models import Edition, Registration, User
from tests.e2e.conftest import UI_TIMEOUT_MS, axe_violations

EDITION = "digital-transformation-2019"


def test_badge_download_and_verification(browser, live_server, page, tmp_path):
    seed_demo()
    edition = db.session.scalar(sa.select(Edition).where(Edition.slug == EDITION))
    registration = db.session.scalar(
        sa.select(Registration)
        .join(User, User.id == Registration.user_id)
        .where(Registration.edition_id == edition.id, User.email == "participant@example.org")
    )
    staff = db.session.scalar(sa.select(User).where(User.email == "staff@example.org"))
    certificate = issuing.issue_one(edition, registration.id, staff)

    context = page.context
    context.set_default_timeout(UI_TIMEOUT_MS)
    page.goto("/login")
    page.get_by_label("Email").fill("participant@example.org")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    page.goto("/me/certificates")
    linkedin = page.get_by_role("link", name=re.compile("Add to LinkedIn profile")).first
    assert "certId=" + certificate.serial in linkedin.get_attribute("href")
    assert axe_violations(page) == []

    page.get_by_role("button", name=re.compile("Digital badge")).first.click()
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Badge image")).first.click()
    baked = tmp_path / "badge.png"
    download.value.save_as(baked)
    assert Image.open(baked).text["openbadgecredential"].count(".") == 2

    visitor = browser.new_context(base_url=live_server.url, locale="en-GB").new_page()
    visitor.set_default_timeout(UI_TIMEOUT_MS)
    visitor.goto("/verify")
    visitor.get_by_label("Or choose a file").set_input_files(str(baked))
    visitor.get_by_role("button", name="Check the credential").click()
    visitor.get_by_text("Valid", exact=True).wait_for()
    assert "Đorđe Čolić" in visitor.content()
    assert certificate.serial in visitor.content()
    assert axe_violations(visitor) == []

    token = Image.open(io.BytesIO(baked.read_bytes())).text["openbadgecredential"]
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["credentialSubject"]["identifier"][0]["identityHash"] = "Đorđe Čolič"  # one letter
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    visitor.get_by_label("Paste the credential").fill(f"{head}.{forged}.{signature}")
    visitor.get_by_role("button", name="Check the credential").click()
    visitor.get_by_text("Not valid", exact=True).wait_for()
    assert "the credential was altered" in visitor.content()
