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
