"""forecast_revenue over four weeks of daily payments, and the charts: a PNG of the expected size beside the
structured data, with a text summary first for clients that show no images."""

import base64
import io
import warnings
from datetime import UTC, datetime, timedelta

import pytest
from mcp.types import ImageContent, TextContent

from mcp_payments.domain import forecast
from mcp_payments.domain.payments import fee_for
from mcp_payments.server import charts
from mcp_payments.server.charts import HEIGHT, WIDTH
from tests.conftest import Stack
from tests.payments.agent import Agent

pytestmark = pytest.mark.anyio

DAYS = 28


async def four_weeks(agent: Agent, stack: Stack) -> list[int]:
    """One payment a day in January 2026, higher at the weekend and growing; their net amounts in cents."""
    assert stack.clock is not None
    nets = []
    for day in range(DAYS):
        stack.clock.current = datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(days=day)
        cents = 5_000 + 1_000 * ((day + 3) % 7) + 37 * day
        await agent.pay(f"{cents // 100}.{cents % 100:02d}")
        nets.append(cents - fee_for(cents, 290, 30))
    stack.clock.current = datetime(2026, 2, 1, tzinfo=UTC)
    return nets


def png_size(block: ImageContent) -> tuple[int, int]:
    image = pytest.importorskip("PIL.Image")
    with image.open(io.BytesIO(base64.b64decode(block.data))) as png:
        assert png.format == "PNG"
        return png.size  # type: ignore[no-any-return]


async def test_holt_winters_forecast_with_its_interval_backtest_and_chart(agent: Agent, clocked_stack: Stack) -> None:
    nets = await four_weeks(agent, clocked_stack)
    arguments = {"start_date": "2026-01-01", "end_date": "2026-01-28", "granularity": "day", "currency": "USD"}
    result = await agent.call("forecast_revenue", **arguments, horizon=7, chart=True)
    assert not result.is_error, result.content
    report = result.structured_content
    assert report is not None
    assert [p["value"] for p in report["history"]] == [f"{n // 100}.{n % 100:02d}" for n in nets]
    expected = forecast.fit_holt_winters([float(n) for n in nets], 7, 7)
    assert [p["period"] for p in report["forecast"]] == [f"2026-01-{d}" for d in range(29, 32)] + [
        f"2026-02-0{d}" for d in range(1, 5)
    ]
    assert [p["value"] for p in report["forecast"]] == [f"{round(v) / 100:.2f}" for v in expected.values]
    assert all(float(p["lower"]) < float(p["value"]) < float(p["upper"]) for p in report["forecast"])
    assert report["season_length"] == 7
    assert report["backtest"]["points"] == 7
    summary, image, data = result.content
    assert isinstance(summary, TextContent)
    assert summary.text.startswith("holt_winters forecast of net USD revenue: 2026-02-04")
    assert isinstance(image, ImageContent)
    assert image.mime_type == "image/png"
    assert png_size(image) == (WIDTH, HEIGHT)
    assert isinstance(data, TextContent)

    linear = await agent.ok("forecast_revenue", **arguments, horizon=3, method="linear")
    assert linear["season_length"] is None
    assert len(linear["forecast"]) == 3
    too_short = await agent.err("forecast_revenue", **{**arguments, "start_date": "2026-01-16"}, horizon=3)
    assert too_short["code"] == "insufficient_history"
    assert "got 13" in too_short["message"]


async def test_every_analytics_tool_draws_a_chart_when_asked_and_only_then(agent: Agent, clocked_stack: Stack) -> None:
    await four_weeks(agent, clocked_stack)
    window = {"start_date": "2026-01-01", "end_date": "2026-01-31"}
    for tool in (
        "get_revenue_summary",
        "get_payment_success_rates",
        "get_customer_insights",
        "get_subscription_metrics",
    ):
        plain = await agent.call(tool, **window)
        assert [type(c) for c in plain.content] == [TextContent], tool
        charted = await agent.call(tool, **window, chart=True)
        assert not charted.is_error, (tool, charted.content)
        assert charted.structured_content == plain.structured_content, tool
        [image] = [c for c in charted.content if isinstance(c, ImageContent)]
        assert png_size(image) == (WIDTH, HEIGHT), tool


def test_amounts_of_several_currencies_are_drawn_on_axes_of_their_own() -> None:
    pytest.importorskip("matplotlib")
    months = ["2026-01", "2026-02", "2026-03"]
    series = [
        charts.Series("net EUR", [900_000.0, 950_000.0, 1_000_000.0]),
        charts.Series("net JPY", [14_000_000.0, 15_000_000.0, 18_000_000.0]),
        charts.Series("net USD", [3_000_000.0, 3_500_000.0, 3_800_000.0]),
    ]
    apart = charts.figure(charts.Chart("Net revenue", months, series, "net revenue", "bar", apart=True))
    shown = [axes for axes in apart.axes if axes.get_visible()]
    assert [axes.get_title() for axes in shown] == ["net EUR", "net JPY", "net USD"]
    assert [len(axes.patches) for axes in shown] == [3, 3, 3]  # one currency's bars each, on its own scale
    assert shown[1].get_ylim()[1] > 10 * shown[0].get_ylim()[1]
    together = charts.figure(charts.Chart("Top decline codes", months, series[:1], "declines", "bar"))
    [axes] = together.axes
    assert axes.get_legend() is not None


def test_a_chart_of_many_currencies_shows_the_largest_and_says_so() -> None:
    pytest.importorskip("matplotlib")
    series = [charts.Series(f"net C{i:02d}", [float(i), None, float(i)]) for i in range(20)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no layout that does not fit
        drawn = charts.figure(charts.Chart("Net revenue", ["a", "b", "c"], series, "net", "bar", apart=True))
    shown = [axes.get_title() for axes in drawn.axes if axes.get_visible()]
    assert shown == [f"net C{i:02d}" for i in range(20 - charts.MAX_PANELS, 20)]
    assert drawn.get_suptitle() == f"Net revenue ({charts.MAX_PANELS} largest of 20)"


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (0.25, "0.25"), (950, "950"), (250_000, "250k"), (1_500_000, "1.5M"), (999_999.5, "1M"), (-2e9, "-2B")],
)
def test_tick_labels_write_amounts_as_people_do(value: float, text: str) -> None:
    assert charts._short(value) == text
