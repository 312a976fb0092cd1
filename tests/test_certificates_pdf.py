"""Certificate rendering: every script our participants write, A4 landscape, only static files."""

import io

import pypdf
import pytest

from schoolmgr import pdf
from schoolmgr.certificates import rendering

NAMES = [
    "Đorđe Čolić",
    "Žarko Šćepanović-Ćirić",
    "Ëndrit Çela",
    "Ђорђе Љубичић Њаради",
    "Ћира Џаковић",
    "Ѓорѓи Ќосе Ѕвездан",
]


@pytest.mark.parametrize("name", NAMES)
def test_names_come_out_exactly(name):
    content = rendering.render_certificate({**rendering.SAMPLE_SNAPSHOT, "name": name})
    reader = pypdf.PdfReader(io.BytesIO(content))
    assert len(reader.pages) == 1
    assert name in reader.pages[0].extract_text()


def test_sample_is_a4_landscape_with_embedded_shipped_fonts():
    content = rendering.render_certificate(rendering.SAMPLE_SNAPSHOT)
    page = pypdf.PdfReader(io.BytesIO(content)).pages[0]
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    assert (round(width), round(height)) == (842, 595)  # A4 landscape in points
    fonts = {
        str(f["/BaseFont"])
        for f in page["/Resources"]["/Font"].values()
        if "/BaseFont" in f.get_object()
    }
    assert any("Cert-Serif" in f for f in fonts), fonts
    text = page.extract_text()
    for fact in ("Seasonal School on Digital Transformation", "2019-0001-00001", "StrengthsFinder"):
        assert fact in text


def test_url_fetcher_serves_only_static_files():
    fetcher = pdf.StaticOnlyURLFetcher()
    logo = fetcher.fetch((pdf.STATIC_DIR / "img" / "logo.svg").as_uri())
    assert b"<svg" in logo.read()
    for url in (
        "http://example.org/x.png",
        "https://127.0.0.1/secret",
        "file:///etc/passwd",
        (pdf.STATIC_DIR / ".." / "config.py").as_uri(),
    ):
        with pytest.raises(pdf.PdfResourceError):
            fetcher.fetch(url)


def test_font_configuration_and_stylesheets_are_created_once():
    assert pdf.font_config() is pdf.font_config()
    assert pdf.stylesheet("css/certificate.css") is pdf.stylesheet("css/certificate.css")


def test_every_signatory_and_module_is_printed():
    snapshot = {
        **rendering.SAMPLE_SNAPSHOT,
        "modules": [{"name": f"Module {i}", "hours": 3.0} for i in range(8)],
        "signatories": [
            {"name": "Jelena Marković", "title": "Programme Manager", "signature": ""},
            {"name": "Arben Krasniqi", "title": "Director", "signature": ""},
        ],
    }
    reader = pypdf.PdfReader(io.BytesIO(rendering.render_certificate(snapshot)))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    for expected in ("Jelena Marković", "Arben Krasniqi", "Director", "Module 0", "Module 7"):
        assert expected in text


@pytest.mark.parametrize(
    "verify_url",
    [
        rendering.SAMPLE_SNAPSHOT["verify_url"],
        "https://school.example.org/verify/7K2M-QX9P-WR4T-HN3C-ZB8D",
    ],
)
def test_qr_code_scans_to_the_verification_link(tmp_path, verify_url):
    """The QR code, printed at an ordinary 150 dpi, reads back as the certificate's link."""
    import subprocess

    import zxingcpp
    from PIL import Image

    pdf_file = tmp_path / "certificate.pdf"
    pdf_file.write_bytes(
        rendering.render_certificate({**rendering.SAMPLE_SNAPSHOT, "verify_url": verify_url})
    )
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", "-singlefile", str(pdf_file), str(tmp_path / "page")],
        check=True,
    )
    codes = zxingcpp.read_barcodes(Image.open(tmp_path / "page.png"))
    assert [code.text for code in codes] == [verify_url]


def test_only_the_shipped_fonts_the_certificate_uses_are_embedded():
    content = rendering.render_certificate(rendering.SAMPLE_SNAPSHOT)
    page = pypdf.PdfReader(io.BytesIO(content)).pages[0]
    fonts = sorted(
        str(f["/BaseFont"]).split("+", 1)[-1] for f in page["/Resources"]["/Font"].values()
    )
    assert fonts == ["Cert-Sans", "Cert-Sans-Bold", "Cert-Serif-Bold", "Cert-Serif-Italic"]


def test_the_certificate_template_is_parsed_as_xml(monkeypatch):
    """Every certificate takes the fast XML parser: the template stays well-formed XML."""

    def html5_parser(*args, **kwargs):
        raise AssertionError("the certificate went through the HTML5 parser")

    monkeypatch.setattr(pdf.PrintHTML, "__init__", html5_parser)
    bilingual = {
        **rendering.SAMPLE_SNAPSHOT,
        "modules": [{"name": f"Module {i}", "hours": 3.0} for i in range(8)],
        "second": {
            "language": "mk",
            "issued_on_text": "20 септември 2019",
            "kind": "Сезонска школа",
            "format": "Во живо",
            "dates": "16–20 септември 2019",
            "place": "Будва, Црна Гора",
        },
    }
    for snapshot in (rendering.SAMPLE_SNAPSHOT, bilingual):
        assert rendering.render_certificate(snapshot).startswith(b"%PDF")


def test_text_the_xml_parser_refuses_still_gives_a_certificate():
    """A control character (which XML forbids) falls back to the HTML5 parser."""
    snapshot = {
        **rendering.SAMPLE_SNAPSHOT,
        "modules": [{"name": "Agile\x0b", "hours": 6.0}],
    }
    reader = pypdf.PdfReader(io.BytesIO(rendering.render_certificate(snapshot)))
    assert len(reader.pages) == 1
    assert "2019-0001-00001" in reader.pages[0].extract_text()


def test_the_certificate_user_agent_sheet_gives_the_same_pdf_as_weasyprints():
    """certificate-ua.css keeps only the user-agent rules the certificate's elements match."""
    import base64

    from PIL import Image

    signature = io.BytesIO()
    Image.new("RGB", (40, 12), "navy").save(signature, format="PNG")
    signature_uri = "data:image/png;base64," + base64.b64encode(signature.getvalue()).decode()
    bilingual = {
        **rendering.SAMPLE_SNAPSHOT,
        "name": "Ђорђе Љубичић",
        "attendance_percent": 92,
        "modules": [{"name": f"Module {i}", "hours": 3.0} for i in range(12)],
        "signatories": [
            {"name": "Jelena Marković", "title": "Programme Manager", "signature": signature_uri},
            {"name": "Arben Krasniqi", "title": "Director", "signature": ""},
        ],
        "second": {
            "language": "sq",
            "issued_on_text": "20 shtator 2019",
            "kind": "Shkollë sezonale",
            "format": "Fizikisht",
            "dates": "16–20 shtator 2019",
            "place": "Budva, Mali i Zi",
        },
    }
    for snapshot in (rendering.SAMPLE_SNAPSHOT, bilingual):
        context = rendering.certificate_context(snapshot)
        ours, weasyprints = (
            pdf.render_pdf(
                rendering.TEMPLATE, context, rendering.STYLESHEETS, xhtml=True, user_agent=sheet
            )
            for sheet in (rendering.USER_AGENT_STYLESHEET, None)
        )
        assert ours == weasyprints


@pytest.mark.parametrize("modules", [1, 12])
def test_a_certificate_is_laid_out_in_one_pass(monkeypatch, modules):
    """Issue 19's profile showed `layout_document` twice per certificate: it is a generator,
    which the profiler counts once per resumption (the page, then its end). The page itself is
    made once. Content that asks WeasyPrint to paginate again (`counter(pages)` in the page's
    content, as a footer "1 of 1" would) makes it twice, and the layout's cost with it."""
    from weasyprint.layout import page as weasyprint_page

    made = 0
    make_page = weasyprint_page.make_page

    def counting_make_page(*args, **kwargs):
        nonlocal made
        made += 1
        return make_page(*args, **kwargs)

    monkeypatch.setattr(weasyprint_page, "make_page", counting_make_page)
    snapshot = {
        **rendering.SAMPLE_SNAPSHOT,
        "modules": [{"name": f"Module {i}", "hours": 3.0} for i in range(modules)],
    }
    reader = pypdf.PdfReader(io.BytesIO(rendering.render_certificate(snapshot)))
    assert len(reader.pages) == 1
    assert made == 1
