"""Bar charts drawn on the server as SVG geometry; templates/evaluations/_chart.html draws them.

Plain numbers only (no markup here): the template writes the SVG with autoescaping on, gives it
a <title> and <desc>, and shows the same figures in a table below, so it works without
JavaScript, in print and for screen readers.
"""

from dataclasses import dataclass

WIDTH = 320
BAR_AREA_HEIGHT = 120
TOP = 18
LABEL_SPACE = 22


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    x: float
    y: float
    width: float
    height: float
    label_x: float


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    baseline: float
    bars: list[Bar]
    total: int


def bar_chart(counts: list[tuple[str, int]]) -> BarChart:
    """Vertical bars for (label, count) pairs, scaled to the largest count."""
    n = max(len(counts), 1)
    slot = WIDTH / n
    gap = min(8.0, slot * 0.2)
    biggest = max((c for _, c in counts), default=0) or 1
    baseline = TOP + BAR_AREA_HEIGHT
    bars = []
    for i, (label, count) in enumerate(counts):
        height = round(BAR_AREA_HEIGHT * count / biggest, 1)
        x = round(i * slot + gap / 2, 1)
        bars.append(
            Bar(
                label=label,
                count=count,
                x=x,
                y=round(baseline - height, 1),
                width=round(slot - gap, 1),
                height=height,
                label_x=round(x + (slot - gap) / 2, 1),
            )
        )
    return BarChart(WIDTH, int(baseline + LABEL_SPACE), baseline, bars, sum(c for _, c in counts))


LABEL_WIDTH = 150
ROW_HEIGHT = 24


@dataclass(frozen=True)
class Row:
    label: str
    count: int
    y: float
    width: float
    text_y: float


@dataclass(frozen=True)
class HorizontalChart:
    width: int
    height: int
    label_width: int
    bar_height: int
    rows: list[Row]
    total: int


def horizontal_chart(counts: list[tuple[str, int]]) -> HorizontalChart:
    """One horizontal bar per option: long option names fit on the left, bars on the right."""
    biggest = max((c for _, c in counts), default=0) or 1
    room = WIDTH - LABEL_WIDTH - 30  # space for the count after the bar
    rows = [
        Row(
            label=label,
            count=count,
            y=i * ROW_HEIGHT + 4,
            width=round(room * count / biggest, 1),
            text_y=i * ROW_HEIGHT + 4 + (ROW_HEIGHT - 8) / 2 + 4,
        )
        for i, (label, count) in enumerate(counts)
    ]
    return HorizontalChart(
        WIDTH,
        len(counts) * ROW_HEIGHT + 8,
        LABEL_WIDTH,
        ROW_HEIGHT - 8,
        rows,
        sum(c for _, c in counts),
    )
