"""get_tool_metrics: per tool, its calls, its errors by code and its latency percentiles over a window.

The database holds what every process flushed (services/call_stats.py); this process's counts not flushed yet
are added, so a caller sees its own latest calls. Other processes' last few seconds (their flush interval) may
be missing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from mcp_payments.domain import latency
from mcp_payments.domain.errors import InvalidInput
from mcp_payments.domain.text import check_text
from mcp_payments.services.call_stats import CallStats
from mcp_payments.services.ports import TOOL_STATS, Clock, ToolStat, UnitOfWork

MIN_WINDOW_MINUTES = 1
MAX_WINDOW_MINUTES = 7 * 24 * 60
MAX_TOOLS = 100  # names in one request
OK = "ok"


@dataclass(frozen=True, slots=True)
class ToolUsage:
    tool: str
    calls: int
    errors: int
    errors_by_code: dict[str, int]
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


@dataclass(frozen=True, slots=True)
class ToolMetricsReport:
    since: datetime
    until: datetime
    window_minutes: int
    calls: int
    errors: int
    tools: list[ToolUsage]


def window_start(now: datetime, window_minutes: int) -> datetime:
    """The first minute of a window of `window_minutes` whole minutes ending with the current one."""
    return now.replace(second=0, microsecond=0) - timedelta(minutes=window_minutes - 1)


def check_window(window_minutes: int) -> None:
    if not MIN_WINDOW_MINUTES <= window_minutes <= MAX_WINDOW_MINUTES:
        raise InvalidInput(
            f"window_minutes is {window_minutes}: ask for {MIN_WINDOW_MINUTES} to {MAX_WINDOW_MINUTES} minutes "
            "(7 days), e.g. 15, 60 or 1440",
            field="window_minutes",
            minimum=MIN_WINDOW_MINUTES,
            maximum=MAX_WINDOW_MINUTES,
        )


def check_tools(tools: Collection[str], known: Collection[str]) -> None:
    if len(tools) > MAX_TOOLS:
        raise InvalidInput(f"tools lists {len(tools)} names: ask for at most {MAX_TOOLS} at once", field="tools")
    for name in tools:
        check_text("tools", name)
    unknown = sorted(set(tools) - set(known))
    if unknown:
        shown = ", ".join(repr(name[:60]) for name in unknown[:5])
        raise InvalidInput(
            f"no tool is named {shown}: name tools this server has (tools/list), or leave tools out for all",
            field="tools",
            unknown=[name[:60] for name in unknown[:5]],
        )


class ToolMetrics:
    def __init__(self, stats: CallStats, clock: Clock) -> None:
        self.stats = stats
        self.clock = clock

    async def report(
        self, uow: UnitOfWork, window_minutes: int, tools: Collection[str] | None, known: Collection[str]
    ) -> ToolMetricsReport:
        """Calls, errors by code and latency percentiles per tool over the window: every process's, merged."""
        check_window(window_minutes)
        if tools is not None:
            check_tools(tools, known)
        now = self.clock.now()
        since = window_start(now, window_minutes)
        rows = await self.totals(uow, since)
        usage = summarize(rows, set(tools) if tools is not None else None)
        return ToolMetricsReport(
            since,
            now,
            window_minutes,
            sum(u.calls for u in usage),
            sum(u.errors for u in usage),
            usage,
        )

    async def totals(self, uow: UnitOfWork, since: datetime) -> list[ToolStat]:
        """The stored rows since `since`, with this process's unflushed counts."""
        stored = await uow.repo(TOOL_STATS).since(since)
        pending = [row for row in self.stats.pending().rows() if row.minute >= since]
        return [*stored, *pending]


def summarize(rows: Iterable[ToolStat], only: set[str] | None = None) -> list[ToolUsage]:
    """Per tool, busiest first: calls, errors by code, and percentiles of the merged latency bins."""
    calls: Counter[str] = Counter()
    errors: dict[str, Counter[str]] = {}
    bins: dict[str, Counter[int]] = {}
    for row in rows:
        if only is not None and row.tool not in only:
            continue
        calls[row.tool] += row.calls
        bins.setdefault(row.tool, Counter())[row.bin] += row.calls
        codes = errors.setdefault(row.tool, Counter())
        if row.outcome != OK:
            codes[row.outcome] += row.calls
    return [
        ToolUsage(
            tool,
            n,
            sum(errors[tool].values()),
            dict(sorted(errors[tool].items())),
            latency.percentile(bins[tool], 0.50),
            latency.percentile(bins[tool], 0.95),
            latency.percentile(bins[tool], 0.99),
        )
        for tool, n in sorted(calls.items(), key=lambda item: (-item[1], item[0]))
    ]
