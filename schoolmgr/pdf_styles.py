"""Computed CSS styles shared across the PDFs a process renders from one template.

WeasyPrint computes every element's style from scratch for each document, one property at a
time, when layout first asks for it: on a certificate that is about 4,500 computations and a
quarter of the render. Yet an element's computed style is a function of its cascaded declarations,
its parent's computed style and its pseudo-element alone (WeasyPrint already shares one style
between the elements of a document that have the same parent style and matched rules), and two
certificates differ in text, not in style.

So each style is computed once per process (`SharedStyles.adopt`) and every document gets its
own `StyleView` of it: a copy of the values computed so far, which asks the shared style for any
other. The document's layout writes into its views (WeasyPrint sets a table's margins on its
wrapper, a table cell's padding to zero), never into the shared styles, which only ever hold
computed values.

It relies on WeasyPrint internals (pinned in requirements.txt): `StyleFor._computed_styles`,
`ComputedStyle`'s attributes, `Document._build_layout_context`. tests/test_pdf_styles.py renders
documents with and without sharing and requires the same PDF bytes.
"""

from functools import cached_property

from weasyprint.css import AnonymousStyle, ComputedStyle
from weasyprint.document import Document

# ComputedStyle's attributes besides its values (it is a dict of property name to value).
_ATTRIBUTES = (
    "specified",
    "parent_style",
    "cascaded",
    "is_root_element",
    "pseudo_type",
    "root_style",
    "base_url",
    "font_config",
    "initial_page_sizes",
    "cache",
)


class StyleView(ComputedStyle):
    """One document's computed style of an element: the shared style's values, written apart."""

    def __init__(self, shared: ComputedStyle):
        for name in _ATTRIBUTES:
            setattr(self, name, getattr(shared, name))
        self.shared = shared
        self.update(shared)

    def __missing__(self, key):
        value = self[key] = self.shared[key]
        return value

    @cached_property
    def anonymous_style(self) -> AnonymousStyle:
        """The style of anonymous boxes in this element (a table's wrapper, a line of text),
        likewise a view of the shared style's."""
        return AnonymousStyleView(self, self.shared.anonymous_style)


class AnonymousStyleView(AnonymousStyle):
    """One document's style of anonymous boxes in an element, viewing the shared one."""

    def __init__(self, parent_style: StyleView, shared: AnonymousStyle):
        super().__init__(parent_style)
        self.shared = shared
        self.update(shared)

    def __missing__(self, key):
        value = self[key] = self.shared[key]
        return value


def _fingerprint(cascaded: dict) -> tuple:
    """The cascaded declarations of an element as a key: a value by itself when it can be
    hashed (a parsed stylesheet's values are tuples, shared by every document), otherwise by
    identity (the shared style keeps its declarations alive, so no other object has that id)."""
    items = []
    for name, (values, weight) in cascaded.items():
        try:
            hash(values)
        except TypeError:
            values = ("id", id(values))
        items.append((name, values, weight))
    return tuple(items)


class SharedStyles:
    """The computed styles of one process, keyed by parent style, pseudo-element and cascade."""

    # A template's elements have a few dozen distinct styles; style="" attributes would add new
    # ones with every document, so the cache starts again past this size.
    MAX_STYLES = 5000

    def __init__(self):
        self._styles: dict[tuple, ComputedStyle] = {}

    def __len__(self) -> int:
        return len(self._styles)

    def adopt(self, style_for) -> None:
        """Replace the computed styles of one document (WeasyPrint's `StyleFor`, before layout)
        by views of the shared ones, computing a shared style for each the process lacks."""
        if len(self._styles) > self.MAX_STYLES:
            self._styles.clear()
        computed = style_for._computed_styles
        views: dict[int, StyleView] = {}
        for key, style in computed.items():
            view = views.get(id(style))
            if view is None:
                view = views[id(style)] = StyleView(self._shared(style, views))
            computed[key] = view

    def _shared(self, style: ComputedStyle, views: dict) -> ComputedStyle:
        parent = views[id(style.parent_style)].shared if style.parent_style is not None else None
        key = (id(parent), style.pseudo_type, style.base_url, _fingerprint(style.cascaded))
        shared = self._styles.get(key)
        if shared is None:
            root = views[id(style.root_style)].shared if parent is not None else style.root_style
            shared = self._styles[key] = ComputedStyle(
                parent,
                style.cascaded,
                style.pseudo_type,
                root,
                style.base_url,
                style.font_config,
                style.initial_page_sizes,
            )
        return shared


class StyleSharingDocument(Document):
    """A WeasyPrint document whose elements' styles come from a process's `SharedStyles`."""

    shared_styles = SharedStyles()

    @classmethod
    def _build_layout_context(cls, html, *args, **kwargs):
        context = super()._build_layout_context(html, *args, **kwargs)
        cls.shared_styles.adopt(context.style_for)
        return context
