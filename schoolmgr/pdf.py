"""PDF rendering with WeasyPrint: Jinja templates with plain values, only our own static files.

Shared by certificates, invitation letters, sign-in sheets and the funder report. Expensive
objects (the font configuration, parsed stylesheets, the Jinja environment, the elements'
computed styles: pdf_styles) are created once per process and reused: a new FontConfiguration
per document is slow and leaks about 0.2 MB per document.

CSS stays in files under static/ (never inside <style> in a Jinja template: autoescaping mangles
quoted font names and WeasyPrint then silently falls back to another font).
"""

import gc
import mimetypes
import re
import threading
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit
from xml.etree import ElementTree

import cssselect2
import jinja2
from weasyprint import CSS, DEFAULT_OPTIONS, HTML
from weasyprint import html as weasyprint_html
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from schoolmgr import i18n
from schoolmgr.pdf_styles import StyleSharingDocument

ROOT_DIR = Path(__file__).resolve().parent.parent
STATIC_DIR = ROOT_DIR / "static"
TEMPLATES_DIR = ROOT_DIR / "templates"
# Relative URLs in templates ("img/logo.svg") and stylesheets resolve against static/.
BASE_URL = STATIC_DIR.as_uri() + "/"

_lock = threading.Lock()


class PdfResourceError(ValueError):
    """A template or stylesheet asked for something outside the app's static files."""


class StaticOnlyURLFetcher(URLFetcher):
    """Serve files under static/ and inline data: URLs; refuse everything else."""

    def __init__(self, static_dir: Path = STATIC_DIR):
        super().__init__(allowed_protocols=("file", "data"), fail_on_errors=False)
        self.static_dir = static_dir.resolve()

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        scheme = url.split(":", 1)[0].lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme != "file":
            raise PdfResourceError(f"Refusing to fetch {url!r}: only the app's static files")
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise PdfResourceError(f"Refusing to fetch {url!r}: remote file URL")
        path = Path(unquote(parts.path)).resolve()
        if not path.is_relative_to(self.static_dir) or not path.is_file():
            raise PdfResourceError(f"Refusing to fetch {url!r}: not a static file")
        mime_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(
            path.as_uri(), path.read_bytes(), headers={"Content-Type": mime_type}
        )


@lru_cache(maxsize=1)
def url_fetcher() -> StaticOnlyURLFetcher:
    return StaticOnlyURLFetcher()


@lru_cache(maxsize=1)
def font_config() -> FontConfiguration:
    """One FontConfiguration per process (fonts are loaded from the stylesheets' @font-face)."""
    return FontConfiguration()


@lru_cache(maxsize=32)
def stylesheet(path: str) -> CSS:
    """Parse a stylesheet under static/ once per process, e.g. "css/certificate.css"."""
    file_path = (STATIC_DIR / path).resolve()
    if not file_path.is_relative_to(STATIC_DIR.resolve()) or not file_path.is_file():
        raise PdfResourceError(f"No stylesheet {path!r} under static/")
    return CSS(
        string=file_path.read_text(encoding="utf-8"),
        base_url=file_path.as_uri(),
        url_fetcher=url_fetcher(),
        font_config=font_config(),
    )


# WeasyPrint's user-agent stylesheet gives every element of the document six pseudo-elements
# (::marker and the footnote and note calls and markers), whether or not anything could use them:
# on a certificate of ~50 elements that is ~300 extra computed styles per document, and ~5% of
# the Python work of a render. Our PDFs have no footnotes or notes, and lists only get markers
# on <li> and <summary>, so the sheet we give WeasyPrint scopes ::marker to those and leaves the
# note rules out. Everything else is WeasyPrint's own sheet, unchanged.
_UNUSED_UA_RULES = re.compile(
    r"^::(?:footnote-call|footnote-marker|note-call|note-marker|note-callback) \{[^}]*\}\n",
    re.MULTILINE,
)


@lru_cache(maxsize=1)
def user_agent_stylesheet() -> CSS:
    """WeasyPrint's HTML user-agent stylesheet without the pseudo-elements our PDFs never use."""
    text = _UNUSED_UA_RULES.sub("", weasyprint_html.UA)
    text = text.replace("\n::marker {", "\n:is(li, summary)::marker {", 1)
    return CSS(string=text, counter_style=weasyprint_html.UA_COUNTER_STYLE)


@lru_cache(maxsize=8)
def user_agent_stylesheet_at(path: str) -> CSS:
    """A document's own user-agent stylesheet under static/ (e.g. "css/certificate-ua.css")."""
    file_path = (STATIC_DIR / path).resolve()
    if not file_path.is_relative_to(STATIC_DIR.resolve()) or not file_path.is_file():
        raise PdfResourceError(f"No stylesheet {path!r} under static/")
    return CSS(
        string=file_path.read_text(encoding="utf-8"),
        counter_style=weasyprint_html.UA_COUNTER_STYLE,
    )


class PrintHTML(HTML):
    """An HTML document for WeasyPrint with our trimmed user-agent stylesheet (or its own:
    `user_agent`, a parsed CSS)."""

    user_agent: CSS | None = None
    # Computed styles shared with the process's other documents (pdf_styles); tests compare.
    share_styles = True

    @classmethod
    def from_xhtml(cls, html: str, base_url: str, url_fetcher: URLFetcher) -> "PrintHTML":
        """Parse a template written as well-formed XML (and valid HTML) with the C XML parser.

        WeasyPrint's HTML5 parser is pure Python: on a certificate it costs ~2.5 ms, the XML
        parser ~0.2 ms, for the same tree. Text the XML parser refuses (a control character
        typed into a name) goes through the HTML5 parser as before.
        """
        try:
            root = ElementTree.fromstring(html)
        except ElementTree.ParseError:
            return cls(string=html, base_url=base_url, url_fetcher=url_fetcher)
        document = cls.__new__(cls)
        document.base_url = base_url
        document.url_fetcher = url_fetcher
        document.media_type = "print"
        document.wrapper_element = cssselect2.ElementWrapper.from_html_root(
            root, content_language=None
        )
        document.etree_element = document.wrapper_element.etree_element
        return document

    def render(self, font_config=None, counter_style=None, color_profiles=None, **options):
        """Lay out with the process's shared computed styles (pdf_styles)."""
        if not self.share_styles:
            return super().render(font_config, counter_style, color_profiles, **options)
        options = {**DEFAULT_OPTIONS, **options}
        return StyleSharingDocument._render(
            self, font_config, counter_style, color_profiles, options
        )

    def _ua_stylesheets(self, forms=False):
        sheets = [self.user_agent or user_agent_stylesheet()]
        return [*sheets, weasyprint_html.UA_FORM_STYLESHEET] if forms else sheets


def _gettext(message: str, **variables) -> str:
    from flask import has_app_context

    if has_app_context():
        from schoolmgr.i18n import gettext

        return gettext(message, **variables)
    return message % variables if variables else message


def _pgettext(context: str, message: str, **variables) -> str:
    from flask import has_app_context

    if has_app_context():
        from schoolmgr.i18n import pgettext

        return pgettext(context, message, **variables)
    return message % variables if variables else message


@lru_cache(maxsize=1)
def jinja_env() -> jinja2.Environment:
    """A Jinja environment over templates/ that knows nothing of requests or the database."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["_"] = _gettext
    env.globals["pgettext"] = _pgettext
    env.filters.update(
        number=i18n.fmt_number,
        decimal=i18n.fmt_decimal,
        percent=i18n.fmt_percent,
        natural_list=i18n.fmt_list,
    )
    return env


def render_html(template_name: str, context: Mapping) -> str:
    return jinja_env().get_template(template_name).render(**context)


class StaticImageCache(dict):
    """One document's image cache for WeasyPrint, sharing the static files' images process-wide.

    Images fetched from static/ (the logo) are then read and parsed once per process instead of
    once per document. Everything else (a certificate's own QR code and the image data WeasyPrint
    keeps under its own keys) lives only as long as the document.
    """

    _static: dict = {}

    def __missing__(self, key):
        return self._static[key]

    def __contains__(self, key) -> bool:
        return dict.__contains__(self, key) or key in self._static

    def __setitem__(self, key, value) -> None:
        if isinstance(key, str) and key.startswith("file:"):
            self._static[key] = value
        else:
            dict.__setitem__(self, key, value)


def render_pdf(
    template_name: str,
    context: Mapping,
    stylesheet_paths: Iterable[str] = (),
    xhtml: bool = False,
    user_agent: str | None = None,
) -> bytes:
    """Render `template_name` with plain values and the given static/ stylesheets to PDF bytes.

    `xhtml`: the template is well-formed XML too (void elements closed, no named entities, an
    explicit <tbody>), so it can be parsed by the faster XML parser (PrintHTML.from_xhtml).
    `user_agent`: a stylesheet under static/ used instead of WeasyPrint's user-agent sheet.

    The cyclic garbage collector is paused while WeasyPrint works: a render allocates some
    100,000 short-lived objects, which would otherwise trigger hundreds of collections (about 5%
    of a certificate's CPU); its garbage is collected as usual afterwards.
    """
    html = render_html(template_name, context)
    with _lock:  # WeasyPrint objects shared across threads are not thread-safe
        collecting = gc.isenabled()
        gc.disable()
        try:
            stylesheets = [stylesheet(p) for p in stylesheet_paths]
            if xhtml:
                document = PrintHTML.from_xhtml(html, BASE_URL, url_fetcher())
            else:
                document = PrintHTML(string=html, base_url=BASE_URL, url_fetcher=url_fetcher())
            if user_agent:
                document.user_agent = user_agent_stylesheet_at(user_agent)
            return document.write_pdf(
                stylesheets=stylesheets, font_config=font_config(), cache=StaticImageCache()
            )
        finally:
            if collecting:
                gc.enable()


def warm_up(template_name: str, context: Mapping, stylesheet_paths: Iterable[str] = ()) -> None:
    """Render once and discard, so fonts and stylesheets are loaded before real work starts."""
    render_pdf(template_name, context, stylesheet_paths)
