"""The certificate PDF: a snapshot of plain values in, PDF bytes out.

Everything the certificate states is taken from the snapshot stored with it, so a certificate
rendered again from its snapshot says exactly what it said on the day it was issued.
"""

import segno

from schoolmgr import pdf

TEMPLATE = "certificates/certificate.html"
STYLESHEETS = ("css/certificate.css",)


def qr_data_uri(url: str) -> str:
    return segno.make(url, error="m").svg_data_uri(scale=4, border=0, dark="#1f2a44")


def render_certificate(snapshot: dict) -> bytes:
    """Render the certificate described by `snapshot` (plain values only) to PDF bytes."""
    context = {"c": snapshot, "qr": qr_data_uri(snapshot["verify_url"])}
    return pdf.render_pdf(TEMPLATE, context, STYLESHEETS)


SAMPLE_SNAPSHOT = {
    "school_name": "Regional School of Public Administration",
    "name": "Đorđe Čolić",
    "edition_title": "Seasonal School on Digital Transformation",
    "kind": "Seasonal school",
    "format": "In person",
    "dates": "16–20 September 2019",
    "place": "Budva, Montenegro",
    "modules": [{"name": "StrengthsFinder", "hours": 3.0}, {"name": "Agile", "hours": 6.0}],
    "total_hours": 9.0,
    "attendance_percent": None,
    "threshold": 80,
    "signatories": [{"name": "Jelena Marković", "title": "Programme Manager", "signature": ""}],
    "issued_on": "2019-09-20",
    "issued_on_text": "20 September 2019",
    "serial": "2019-0001-00001",
    "verification_code": "ABCD-EFGH-JKMN-PQRS-TUVW",
    "verify_url": "http://127.0.0.1:5000/verify/ABCD-EFGH-JKMN-PQRS-TUVW",
    "verify_base": "127.0.0.1:5000/verify",
}


def warm_up() -> None:
    """Load fonts and parse the stylesheet once, before a worker renders real certificates."""
    render_certificate(SAMPLE_SNAPSHOT)
