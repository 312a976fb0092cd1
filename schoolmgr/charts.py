"""Bar charts drawn on the server as inline SVG: no JavaScript, the same in a browser and a PDF.

    bar_chart([Bar("Woman", 41), Bar("Man", 38)], title="Participants by gender",
              description="41 women, 38 men.", orientation="horizontal")

returns Markup holding one <svg role="img"> with a <title> and a <desc> that screen readers
announce; every text is escaped here, so labels may come from users. Pages still show the same
figures in a table next to the chart (a chart alone is not accessible enough). Colours are
presentation attributes, not CSS, so WeasyPrint and browsers draw the same thing; the bar colour
has a contrast of 7:1 on white and the text is near-black.

Why our own ~150 lines rather than pygal or matplotlib: pygal's SVG loads its tooltips script from
a CDN unless told otherwise and writes inline styles; matplotlib brings numpy (~60 MB), draws text
as paths by default (pdftotext and screen readers then see nothing) and takes a second to import.
Neither lets us set role/aria attributes and per-bar titles without post-processing.
"""

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from schoolmgr.i18n import fmt_number, fmt_percent

BAR_COLOUR = "#1f4e8c"
MUTED_BAR_COLOUR = "#8a94a6"
TEXT_COLOUR = "#1f2a44"
GRID_COLOUR = "#c9cfdb"
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"

_ids = itertools.count(1)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    # How the value is written next to the bar ("41", "87%"); by default the number itself.
    display: str | None = None
    # Drawn in grey: for "not answered" and similar rows that are not part of the story.
    muted: bool = False

    @property
    def text(self) -> str:
        if self.display is not None:
            return self.display
        return fmt_number(self.value)


def _fmt(number: float) -> str:
    return f"{number:.1f}".rstrip("0").rstrip(".")


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _open_svg(width: float, height: float, title: str, description: str, css_class: str) -> str:
    n = next(_ids)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {escape(css_class)}" role="img"'
        f' viewBox="0 0 {_fmt(width)} {_fmt(height)}" width="100%"'
        f' preserveAspectRatio="xMinYMin meet"'
        f' aria-labelledby="chart-{n}-title chart-{n}-desc"'
        f' font-family="{FONT}" font-size="13" fill="{TEXT_COLOUR}">'
        f'<title id="chart-{n}-title">{escape(title)}</title>'
        f'<desc id="chart-{n}-desc">{escape(description)}</desc>'
    )


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    description: str = "",
    orientation: str = "horizontal",
    max_value: float | None = None,
    width: int | None = None,
) -> Markup:
    """One series of bars with their labels and values, as accessible inline SVG.

    Horizontal charts put each label above its bar, so long labels (institutions, modules) stay
    readable on a phone; vertical charts suit short ordered labels (years, ratings 1-5).
    `max_value` fixes the scale (100 for percentages); by default the largest value. `width`
    is the drawing's width in its own units (text is 13 units high): the SVG then scales to its
    container, so a narrower drawing means larger text.
    """
    if orientation not in ("horizontal", "vertical"):
        raise ValueError(f"orientation must be horizontal or vertical, not {orientation!r}")
    description = description or "; ".join(f"{b.label}: {b.text}" for b in bars)
    top = max([max_value or 0, *(b.value for b in bars)]) or 1
    if orientation == "horizontal":
        return _horizontal(bars, title, description, top, width or 360)
    return _vertical(bars, title, description, top, width or 480)


def _bar_title(bar: Bar) -> str:
    return f"<title>{escape(bar.label)}: {escape(bar.text)}</title>"


def _horizontal(
    bars: Sequence[Bar], title: str, description: str, top: float, width: int
) -> Markup:
    row, label_h, bar_h, pad = 44, 17, 18, 4
    value_w = 64
    track = width - value_w - 2 * pad
    height = max(row * len(bars), row) + pad
    limit = int((width - 2 * pad) / 7.5)  # characters that fit on one line at 13 units
    parts = [_open_svg(width, height, title, description, "chart-horizontal")]
    if not bars:
        parts.append(f'<text x="{pad}" y="24">–</text>')
    for i, bar in enumerate(bars):
        y = pad + i * row
        length = max(0.0, track * (bar.value / top)) if bar.value else 0.0
        colour = MUTED_BAR_COLOUR if bar.muted else BAR_COLOUR
        parts.append(
            f'<g class="bar">{_bar_title(bar)}'
            f'<text x="{pad}" y="{_fmt(y + 13)}">{escape(_shorten(bar.label, limit))}</text>'
            f'<rect x="{pad}" y="{_fmt(y + label_h)}" width="{_fmt(track)}" height="{bar_h}"'
            f' fill="#f1f3f7"/>'
            f'<rect x="{pad}" y="{_fmt(y + label_h)}" width="{_fmt(length)}" height="{bar_h}"'
            f' fill="{colour}"/>'
            f'<text x="{_fmt(pad + track + 6)}" y="{_fmt(y + label_h + 14)}"'
            f' font-weight="bold">{escape(bar.text)}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _vertical(bars: Sequence[Bar], title: str, description: str, top: float, width: int) -> Markup:
    pad, label_h, value_h, plot_h = 6, 34, 18, 150
    n = max(len(bars), 1)
    slot = (width - 2 * pad) / n
    bar_w = min(56.0, slot * 0.7)
    height = pad + value_h + plot_h + label_h
    base = pad + value_h + plot_h
    limit = max(3, int(slot / 7.5))  # characters that fit under one bar at 13 px
    parts = [_open_svg(width, height, title, description, "chart-vertical")]
    parts.append(
        f'<line x1="{pad}" y1="{_fmt(base)}" x2="{_fmt(width - pad)}" y2="{_fmt(base)}"'
        f' stroke="{GRID_COLOUR}" stroke-width="1"/>'
    )
    for i, bar in enumerate(bars):
        centre = pad + slot * i + slot / 2
        length = plot_h * (bar.value / top) if bar.value else 0.0
        colour = MUTED_BAR_COLOUR if bar.muted else BAR_COLOUR
        parts.append(
            f'<g class="bar">{_bar_title(bar)}'
            f'<rect x="{_fmt(centre - bar_w / 2)}" y="{_fmt(base - length)}"'
            f' width="{_fmt(bar_w)}" height="{_fmt(length)}" fill="{colour}"/>'
            f'<text x="{_fmt(centre)}" y="{_fmt(base - length - 5)}" text-anchor="middle"'
            f' font-weight="bold">{escape(bar.text)}</text>'
            f'<text x="{_fmt(centre)}" y="{_fmt(base + 20)}" text-anchor="middle">'
            f"{escape(_shorten(bar.label, limit))}</text>"
            "</g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def percent(part: int, whole: int) -> float | None:
    """Share in percent, or None when there is nothing to divide by."""
    return 100 * part / whole if whole else None


def percent_text(value: float | None) -> str:
    """A whole percentage in the page's language ("87%", "87 %")."""
    return fmt_percent(value)
