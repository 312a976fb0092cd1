"""Computed styles shared across PDFs (schoolmgr.pdf_styles): the same bytes as computing them
for each document, in any order of documents, with few styles kept."""

import base64
import io

import pypdf
import pytest
from PIL import Image

from schoolmgr import pdf
from schoolmgr.certificates import rendering
from schoolmgr.pdf_styles import StyleSharingDocument


def _signature_uri() -> str:
    image = io.BytesIO()
    Image.new("RGB", (40, 12), "navy").save(image, format="PNG")
    return "data:image/png;base64," + base64.b64encode(image.getvalue()).decode()


SAMPLE = rendering.SAMPLE_SNAPSHOT
SERBIAN = {
    **SAMPLE,
    "name": "Ђорђе Љубичић",
    "attendance_percent": 92,
    "modules": [{"name": f"Module {i}", "hours": 3.0} for i in range(12)],
    "signatories": [
        {"name": "Jelena Marković", "title": "Programme Manager", "signature": _signature_uri()},
        {"name": "Arben Krasniqi", "title": "Director", "signature": ""},
    ],
    "second": {
        "language": "sr-Cyrl",
        "issued_on_text": "20. септембар 2019.",
        "kind": "Сезонска школа",
        "format": "Уживо",
        "dates": "16–20. септембар 2019.",
        "place": "Будва, Црна Гора",
    },
}
# The same certificate with its second language Macedonian: other phrases, other lang="…".
MACEDONIAN = {**SERBIAN, "second": {**SERBIAN["second"], "language": "mk"}}
NO_MODULES = {**SAMPLE, "name": "Ëndrit Çela", "modules": []}
# Shared styles computed by one certificate serve the next, whatever it holds.
ORDER = [SERBIAN, SAMPLE, MACEDONIAN, NO_MODULES, SAMPLE, SERBIAN, MACEDONIAN]


def _render_all(snapshots: list[dict]) -> list[bytes]:
    return [rendering.render_certificate(snapshot) for snapshot in snapshots]


@pytest.fixture
def fresh_shared_styles(monkeypatch):
    monkeypatch.setattr(
        StyleSharingDocument, "shared_styles", type(StyleSharingDocument.shared_styles)()
    )
    return StyleSharingDocument.shared_styles


def test_certificates_are_the_same_pdf_whether_styles_are_shared_or_not(
    app, fresh_shared_styles, monkeypatch
):
    with app.test_request_context():
        shared = _render_all(ORDER)
        monkeypatch.setattr(pdf.PrintHTML, "share_styles", False)
        computed_each_time = _render_all(ORDER)
    assert shared == computed_each_time
    assert len(set(shared)) == 4  # four different certificates, not one drawn four times
    text = pypdf.PdfReader(io.BytesIO(shared[1])).pages[0].extract_text()
    assert "Đorđe Čolić" in text and "StrengthsFinder" in text


def test_a_process_keeps_one_style_per_element_kind_not_per_certificate(app, fresh_shared_styles):
    with app.test_request_context():
        _render_all(ORDER)
        kept = len(fresh_shared_styles)
        # Other names, other modules, in the layouts already seen (one or two columns).
        modules = SERBIAN["modules"]
        others = [
            {**SERBIAN, "name": f"Учесник {i}", "modules": modules[: 7 + i]} for i in range(6)
        ] + [{**SAMPLE, "name": f"Participant {i}", "modules": modules[: 1 + i]} for i in range(6)]
        _render_all(others)
    assert 0 < kept == len(fresh_shared_styles)


def test_the_shared_styles_start_again_past_their_bound(app, fresh_shared_styles, monkeypatch):
    monkeypatch.setattr(fresh_shared_styles, "MAX_STYLES", 10)
    with app.test_request_context():
        first, again = _render_all([SAMPLE, SAMPLE])
        monkeypatch.setattr(pdf.PrintHTML, "share_styles", False)
        (computed,) = _render_all([SAMPLE])
    assert 10 < len(fresh_shared_styles) < 200
    assert first == again == computed
