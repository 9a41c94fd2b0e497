"""Charts as PNG images, for the analytics tools' `chart: true`.

matplotlib is imported here, inside the function, and only when a chart is asked for: a start (and every call
without a chart) never pays for it. The object API with the Agg canvas is used, never pyplot, so that renders in
worker threads share no global figure state.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

WIDTH, HEIGHT, DPI = 800, 400, 100  # pixels of every chart


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


def render(chart: Chart) -> bytes:
    """The chart as a WIDTH x HEIGHT PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = list(range(len(chart.labels)))
    count = max(1, len(chart.series))
    for n, s in enumerate(chart.series):
        xs = [positions[s.offset + i] for i in range(len(s.values))]
        ys = [float("nan") if v is None else v for v in s.values]
        if chart.kind == "bar":
            width = 0.8 / count
            axes.bar([x - 0.4 + width * (n + 0.5) for x in xs], ys, width=width, label=s.name)
        else:
            axes.plot(xs, ys, marker="o" if len(xs) <= 40 else None, markersize=3, label=s.name)
        if s.lower is not None and s.upper is not None:
            axes.fill_between(xs, list(s.lower), list(s.upper), alpha=0.2, label=f"{s.name} 95 % interval")
    step = max(1, len(positions) // 12)
    axes.set_xticks(positions[::step], [chart.labels[i] for i in positions[::step]], rotation=30, ha="right")
    axes.set_title(chart.title)
    axes.set_ylabel(chart.y_label)
    axes.grid(True, alpha=0.3)
    axes.axhline(0, color="black", linewidth=0.6)
    if chart.series:
        axes.legend(loc="best", fontsize="small")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
