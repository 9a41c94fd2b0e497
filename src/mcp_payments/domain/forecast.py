"""Revenue forecasts: a linear trend, and additive Holt-Winters (level, trend and a season), both pure.

Forecasts are estimates, computed in floating point; the analytics service reports them rounded to the
currency's minor unit as decimal strings. Prediction intervals assume normally distributed one-step errors:

- linear: the OLS prediction interval, y_hat +- z * s * sqrt(1 + 1/n + (x - x_mean)^2 / Sxx);
- Holt-Winters: Hyndman & Athanasopoulos' variance for additive Holt-Winters,
  sigma^2 * (1 + sum_{j=1}^{h-1} (alpha * (1 + j * beta) + gamma * [j mod m == 0])^2),
  where sigma^2 is the mean squared one-step error of the fit.

Holt-Winters recursions (the same as statsmodels' ExponentialSmoothing(trend="add", seasonal="add")):

    level_t  = alpha * (y_t - season_{t-m}) + (1 - alpha) * (level_{t-1} + trend_{t-1})
    trend_t  = beta * (level_t - level_{t-1}) + (1 - beta) * trend_{t-1}
    season_t = gamma * (y_t - level_{t-1} - trend_{t-1}) + (1 - gamma) * season_{t-m}
    y_hat_{n+h} = level_n + h * trend_n + season_{n+h-m(k+1)}, k = (h - 1) // m
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product

from mcp_payments.domain.errors import InsufficientHistory

Z_95 = 1.959963984540054  # the two-sided 95 % normal quantile
_GRID = (0.05, 0.2, 0.4, 0.6, 0.8)  # smoothing parameters tried by fit_holt_winters, each of the three


@dataclass(frozen=True, slots=True)
class Forecast:
    values: list[float]
    lower: list[float]  # 95 % prediction interval
    upper: list[float]
    fitted: list[float]  # one-step-ahead fit over the history (Holt-Winters) or the trend line (linear)
    parameters: dict[str, float]


def linear(history: Sequence[float], horizon: int) -> Forecast:
    """Ordinary least squares of y on t = 0..n-1, extended `horizon` steps."""
    n = len(history)
    if n < 3:
        raise InsufficientHistory(f"a linear forecast needs at least 3 points of history, got {n}", points=n)
    x_mean = (n - 1) / 2
    y_mean = sum(history) / n
    sxx = sum((x - x_mean) ** 2 for x in range(n))
    slope = sum((x - x_mean) * (y - y_mean) for x, y in enumerate(history)) / sxx
    intercept = y_mean - slope * x_mean
    fitted = [intercept + slope * x for x in range(n)]
    s = math.sqrt(sum((y - f) ** 2 for y, f in zip(history, fitted, strict=True)) / (n - 2))
    values, lower, upper = [], [], []
    for x in range(n, n + horizon):
        y_hat = intercept + slope * x
        half = Z_95 * s * math.sqrt(1 + 1 / n + (x - x_mean) ** 2 / sxx)
        values.append(y_hat)
        lower.append(y_hat - half)
        upper.append(y_hat + half)
    return Forecast(values, lower, upper, fitted, {"intercept": intercept, "slope": slope, "sigma": s})


@dataclass(frozen=True, slots=True)
class Start:
    """Holt-Winters' initial state: the level and trend before the first point, and the m seasonal terms."""

    level: float
    trend: float
    season: list[float]


def initial_state(history: Sequence[float], m: int) -> Start:
    """The classic start from the first two seasons: level = the first season's mean, trend = the change of the
    seasons' means per step, season_i = y_i - level."""
    first = sum(history[:m]) / m
    second = sum(history[m : 2 * m]) / m
    return Start(first, (second - first) / m, [y - first for y in history[:m]])


def smooth(history: Sequence[float], m: int, alpha: float, beta: float, gamma: float, start: Start) -> Smoothed:
    """Run the recursions over the history."""
    level, trend, season = start.level, start.trend, list(start.season)
    fitted, squared = [], 0.0
    for t, y in enumerate(history):
        s_old = season[t]  # season_{t-m}: the list grows by one each step
        fitted.append(level + trend + s_old)
        squared += (y - fitted[-1]) ** 2
        previous_level, previous_trend = level, trend
        level = alpha * (y - s_old) + (1 - alpha) * (previous_level + previous_trend)
        trend = beta * (level - previous_level) + (1 - beta) * previous_trend
        season.append(gamma * (y - previous_level - previous_trend) + (1 - gamma) * s_old)
    return Smoothed(level, trend, season, fitted, squared)


@dataclass(frozen=True, slots=True)
class Smoothed:
    level: float
    trend: float
    season: list[float]
    fitted: list[float]
    squared_error: float


def holt_winters(
    history: Sequence[float],
    m: int,
    horizon: int,
    alpha: float,
    beta: float,
    gamma: float,
    start: Start | None = None,
) -> Forecast:
    """Additive Holt-Winters with season length `m` and the given smoothing parameters."""
    n = len(history)
    check_seasons(n, m)
    state = smooth(history, m, alpha, beta, gamma, start or initial_state(history, m))
    sigma2 = state.squared_error / n
    values, lower, upper = [], [], []
    for h in range(1, horizon + 1):
        y_hat = state.level + h * state.trend + state.season[n + (h - 1) % m]
        variance = sigma2 * (1 + sum((alpha * (1 + j * beta) + gamma * (j % m == 0)) ** 2 for j in range(1, h)))
        half = Z_95 * math.sqrt(variance)
        values.append(y_hat)
        lower.append(y_hat - half)
        upper.append(y_hat + half)
    parameters = {"alpha": alpha, "beta": beta, "gamma": gamma, "sigma": math.sqrt(sigma2)}
    return Forecast(values, lower, upper, state.fitted, parameters)


def check_seasons(n: int, m: int) -> None:
    if m < 2 or n < 2 * m:
        raise InsufficientHistory(
            f"Holt-Winters with a season of {m} points needs at least two seasons ({2 * m} points) of history, "
            f"got {n}: ask for a longer range, a finer granularity or a shorter season_length",
            points=n,
            needed=2 * m,
        )


def fit_holt_winters(history: Sequence[float], m: int, horizon: int) -> Forecast:
    """Holt-Winters with the smoothing parameters (from a small grid) that minimise the one-step squared error."""
    check_seasons(len(history), m)
    start = initial_state(history, m)
    best = min(
        product(_GRID, _GRID, _GRID),
        key=lambda p: smooth(history, m, p[0], p[1], p[2], start).squared_error,
    )
    return holt_winters(history, m, horizon, *best, start=start)
