"""The certificate PDF: a snapshot of plain values in, PDF bytes out.

Everything the certificate states is taken from the snapshot stored with it, so a certificate
rendered again from its snapshot says exactly what it said on the day it was issued.
"""

import base64
import io

import segno
from PIL import Image

from schoolmgr import pdf
from schoolmgr.i18n import DEFAULT_LANGUAGE, in_language

_ = pdf._gettext  # works with or without an app (the warm-up renders before one exists)

TEMPLATE = "certificates/certificate.html"
STYLESHEETS = ("css/certificate.css",)
USER_AGENT_STYLESHEET = "css/certificate-ua.css"
QR_DARK = (0x1F, 0x2A, 0x44)  # the certificate's ink, #1f2a44
QR_LIGHT = (0xFF, 0xFF, 0xFF)
QR_MASK = 0


def qr_data_uri(url: str) -> str:
    """The verification QR code as a PNG with one pixel per module, as a data: URL.

    The stylesheet scales it up with `image-rendering: pixelated` (PDF /Interpolate false), so
    every module stays a sharp square at any zoom or print resolution. Measured against segno's
    SVG (one path that WeasyPrint parses and draws command by command, ~400 commands) and
    against a PNG at print resolution (8 pixels per module, ~350 dpi): this is the cheapest of
    the three to build, parse and embed, and the smallest in the PDF (bench/qr.py prints both).

    The mask is fixed: segno otherwise draws all eight and scores them, which took 80% of the
    QR's cost (3.5 → 0.7 ms). Every mask is a valid code; the scoring only avoids patterns that
    trouble old scanners, and ours is checked by decoding the printed page (tests).
    """
    qr = segno.make(url, error="m", mask=QR_MASK)
    size = qr.symbol_size(border=0)
    image = Image.frombytes("P", size, bytes(bit for row in qr.matrix for bit in row))
    image.putpalette([*QR_LIGHT, *QR_DARK])
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def boilerplate(tag: str, issued_on_text: str, attendance_percent=None) -> dict:
    """The certificate's fixed phrases in language `tag` (from its catalogue, via gettext)."""
    with in_language(tag):
        return {
            "lang": tag,
            "document": _("Certificate of attendance"),
            "title": _("Certificate of Attendance"),
            "certify": _("This is to certify that"),
            "attended": _("attended the"),
            "module": _("Module"),
            "hours": _("Hours"),
            "total": _("Total"),
            "attendance": _("attendance %(percent)s%%", percent=attendance_percent)
            if attendance_percent is not None
            else "",
            "issued_on": _("Issued on %(date)s", date=issued_on_text),
            "serial": _("Serial number"),
            "verify_at": _("Verify at"),
            "code": _("Code"),
        }


def render_certificate(snapshot: dict, qr: str | None = None) -> bytes:
    """Render the certificate described by `snapshot` (plain values only) to PDF bytes.

    The certificate is in English; a bilingual one (`snapshot["second"]`, see
    services.build_snapshot) sets each phrase of its second language beneath the English one,
    smaller, on the same page. `qr`: an image URI instead of the app's QR code (bench/qr.py).
    """
    return pdf.render_pdf(
        TEMPLATE,
        certificate_context(snapshot, qr),
        STYLESHEETS,
        xhtml=True,
        user_agent=USER_AGENT_STYLESHEET,
    )


def certificate_context(snapshot: dict, qr: str | None = None) -> dict:
    """The template's context: the snapshot, the phrases in English (and the second language)
    and the QR code (`qr`: an image URI to use instead of the app's own drawing)."""
    percent = snapshot.get("attendance_percent")
    english = boilerplate(DEFAULT_LANGUAGE, snapshot["issued_on_text"], percent)
    second = snapshot.get("second")
    other = None
    if second:
        other = {
            **boilerplate(second["language"], second["issued_on_text"], percent),
            **second,
        }
    return {
        "c": snapshot,
        "t": english,
        "t2": other,
        "qr": qr or qr_data_uri(snapshot["verify_url"]),
    }


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
