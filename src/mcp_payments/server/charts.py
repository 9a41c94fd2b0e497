"""Charts as PNG images, for the analytics tools' `chart: true`.

matplotlib is imported here, inside the function, and only when a chart is asked for: a start (and every call
without a chart) never pays for it. The object API with the Agg canvas is used, never pyplot, so that renders in
worker threads share no global figure state.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

WIDTH, HEIGHT, DPI = 800, 400, 100  # pixels of every chart
MAX_PANELS = 6  # a chart `apart` shows its largest series past this; more would not fit legibly in HEIGHT


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[float | None]
    lower: Sequence[float] | None = None  # a band drawn around the line (a prediction interval)
    upper: Sequence[float] | None = None
    offset: int = 0  # where on the x axis the series starts


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    labels: Sequence[str]  # the x axis
    series: Sequence[Series]
    y_label: str
    kind: str = "line"  # line | bar
    notes: list[str] = field(default_factory=list)
    # Each series on axes of its own, titled with its name: amounts in different currencies never share a scale
    # (a yen bar beside a dollar bar would look a hundred times the larger).
    apart: bool = False


def render(chart: Chart) -> bytes:
    """The chart as a WIDTH x HEIGHT PNG."""
    buffer = io.BytesIO()
    figure(chart).savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def figure(chart: Chart) -> Any:
    """The chart drawn on a matplotlib Figure (on the Agg canvas)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    drawn = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    FigureCanvasAgg(drawn)
    if chart.apart and len(chart.series) > 1:
        shown = _largest(chart.series, MAX_PANELS)
        count = len(shown)
        columns = 1 if count <= 2 else 2 if count <= 4 else 3
        grid = drawn.subplots(-(-count // columns), columns, squeeze=False)
        cells = [axes for row in grid for axes in row]
        for axes, s in zip(cells, shown, strict=False):
            _draw(axes, chart, [s], small=True)
            axes.set_title(s.name, fontsize="medium")
        for axes in cells[count:]:
            axes.set_visible(False)
        left_out = len(chart.series) - count
        drawn.suptitle(chart.title + (f" ({count} largest of {len(chart.series)})" if left_out else ""))
    else:
        axes = drawn.add_subplot()
        _draw(axes, chart, chart.series, small=False)
        axes.set_title(chart.title)
        if chart.series:
            axes.legend(loc="best", fontsize="small")
    drawn.tight_layout()
    return drawn


def _largest(series: Sequence[Series], limit: int) -> list[Series]:
    """The `limit` series of the largest sums of absolute values, in their order."""
    if len(series) <= limit:
        return list(series)
    size = [sum(abs(v) for v in s.values if v is not None) for s in series]
    kept = set(sorted(range(len(series)), key=lambda i: -size[i])[:limit])
    return [s for i, s in enumerate(series) if i in kept]


def _draw(axes: Any, chart: Chart, series: Sequence[Series], *, small: bool) -> None:
    positions = list(range(len(chart.labels)))
    count = max(1, len(series))
    for n, s in enumerate(series):
        xs = [positions[s.offset + i] for i in range(len(s.values))]
        ys = [float("nan") if v is None else v for v in s.values]
        if chart.kind == "bar":
            width = 0.8 / count
            axes.bar([x - 0.4 + width * (n + 0.5) for x in xs], ys, width=width, label=s.name)
        else:
            axes.plot(xs, ys, marker="o" if len(xs) <= 40 else None, markersize=3, label=s.name)
        if s.lower is not None and s.upper is not None:
            axes.fill_between(xs, list(s.lower), list(s.upper), alpha=0.2, label=f"{s.name} 95 % interval")
    step = max(1, len(positions) // (6 if small else 12))
    ticks = [chart.labels[i] for i in positions[::step]]
    axes.set_xticks(positions[::step], ticks, rotation=30, ha="right", fontsize="small" if small else None)
    if not small:
        axes.set_ylabel(chart.y_label)
    axes.yaxis.set_major_formatter(_short)
    axes.grid(True, alpha=0.3)
    axes.axhline(0, color="black", linewidth=0.6)


def _short(value: float, _position: int | None = None) -> str:
    """A tick's value as people write amounts: 250k, 1.5M, not 0.25 above a "1e6"."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size * 0.9995:  # what rounds to 1000k is 1M
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"
