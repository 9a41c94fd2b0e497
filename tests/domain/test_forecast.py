"""Forecasts: Holt-Winters agrees with statsmodels on the same series, parameters and start; the linear trend and its
interval agree with the textbook formulas; a history shorter than two seasons is refused."""

import math
import warnings

import pytest

from mcp_payments.domain import forecast
from mcp_payments.domain.errors import InsufficientHistory

# Weekly seasonality, a trend and some irregularity: 6 weeks of daily net revenue.
SERIES = [100 + 12 * (i % 7) + 1.5 * i + ((i * 37) % 11) - 5 for i in range(42)]


def statsmodels_fit(alpha: float, beta: float, gamma: float, start: forecast.Start) -> object:
    np = pytest.importorskip("numpy")
    holtwinters = pytest.importorskip("statsmodels.tsa.holtwinters")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' own deprecation notices
        model = holtwinters.ExponentialSmoothing(
            np.array(SERIES),
            trend="add",
            seasonal="add",
            seasonal_periods=7,
            initialization_method="known",
            initial_level=start.level,
            initial_trend=start.trend,
            initial_seasonal=np.array(start.season),
        )
        return model.fit(smoothing_level=alpha, smoothing_trend=beta, smoothing_seasonal=gamma, optimized=False)


@pytest.mark.parametrize(("alpha", "beta", "gamma"), [(0.3, 0.1, 0.2), (0.8, 0.05, 0.6), (0.05, 0.4, 0.05)])
def test_holt_winters_matches_statsmodels_on_the_same_series(alpha: float, beta: float, gamma: float) -> None:
    start = forecast.initial_state(SERIES, 7)
    mine = forecast.holt_winters(SERIES, 7, 15, alpha, beta, gamma, start)
    theirs = statsmodels_fit(alpha, beta, gamma, start)
    assert mine.fitted == pytest.approx(list(theirs.fittedvalues), abs=1e-9)  # type: ignore[attr-defined]
    expected = list(theirs.forecast(15))  # type: ignore[attr-defined]
    level, trend, season = theirs.level[-1], theirs.trend[-1], list(theirs.season[-7:])  # type: ignore[attr-defined]
    for h in range(1, 16):
        # Hyndman's y_hat = level + h * trend + the last season's term for that day. statsmodels up to 0.15 reuses
        # the term of the season before at every h that is a multiple of m (statsmodels issue #9538): there its
        # own final components are the reference.
        hyndman = level + h * trend + season[(h - 1) % 7]
        assert mine.values[h - 1] == pytest.approx(hyndman, abs=1e-9)
        if h % 7:
            assert mine.values[h - 1] == pytest.approx(expected[h - 1], abs=1e-9)
    sse = sum((y - f) ** 2 for y, f in zip(SERIES, theirs.fittedvalues, strict=True))  # type: ignore[attr-defined]
    assert mine.parameters["sigma"] == pytest.approx(math.sqrt(sse / len(SERIES)))


def test_holt_winters_intervals_widen_with_the_horizon_and_contain_the_forecast() -> None:
    result = forecast.fit_holt_winters(SERIES, 7, 14)
    widths = [u - lo for lo, u in zip(result.lower, result.upper, strict=True)]
    assert all(lo < v < u for v, lo, u in zip(result.values, result.lower, result.upper, strict=True))
    assert widths == sorted(widths)
    assert {"alpha", "beta", "gamma", "sigma"} == set(result.parameters)


def test_linear_fits_a_line_exactly_and_its_interval_follows_the_ols_formula() -> None:
    line = [3.0 + 2.0 * x for x in range(10)]
    exact = forecast.linear(line, 3)
    assert exact.values == pytest.approx([23.0, 25.0, 27.0])
    assert exact.lower == pytest.approx(exact.values), "no residual, no width"
    noisy = [1.0, 3.0, 2.0, 5.0, 4.0, 6.0]
    result = forecast.linear(noisy, 1)
    n, x_mean, sxx = 6, 2.5, 17.5
    slope = sum((x - x_mean) * (y - 3.5) for x, y in enumerate(noisy)) / sxx
    intercept = 3.5 - slope * x_mean
    s = math.sqrt(sum((y - intercept - slope * x) ** 2 for x, y in enumerate(noisy)) / (n - 2))
    half = forecast.Z_95 * s * math.sqrt(1 + 1 / n + (6 - x_mean) ** 2 / sxx)
    assert result.values == pytest.approx([intercept + slope * 6])
    assert result.upper[0] - result.values[0] == pytest.approx(half)


def test_a_history_shorter_than_two_seasons_is_refused_with_what_it_needs() -> None:
    with pytest.raises(InsufficientHistory, match=r"needs at least two seasons \(14 points\) of history, got 13"):
        forecast.fit_holt_winters(SERIES[:13], 7, 3)
    with pytest.raises(InsufficientHistory, match="at least 3 points"):
        forecast.linear([1.0, 2.0], 1)
