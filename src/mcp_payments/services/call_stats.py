"""Tool call statistics: counted in memory per minute, added into the database every few seconds.

A tool call must not pay a database write for its statistics (tests/server/test_round_trips.py), so each process
counts its calls in memory, per minute, tool and outcome, in fixed latency bins (domain/latency.py); `flush()`
adds them to the shared rows with one additive upsert, sorted by key so that processes flushing together never
deadlock. Since bins and minutes add, get_tool_metrics reads one histogram per tool from any number of processes.
A flush that fails puts its counts back; a process killed outright loses at most its last interval.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from mcp_payments.domain.latency import bin_of
from mcp_payments.services.calls import CallRunner
from mcp_payments.services.ports import TOOL_STATS, Clock, ToolStat, UnitOfWork

log = structlog.get_logger("mcp_payments.metrics")
RETENTION = timedelta(days=8)  # longer than the widest window get_tool_metrics offers (7 days)
_PURGE_EVERY = timedelta(hours=1)

Key = tuple[int, str, str]  # minute (since the epoch: cheaper to make and hash than a datetime), tool, outcome
Listener = Callable[[str, str, float], None]  # tool, outcome, seconds


@dataclass(frozen=True, slots=True)
class PendingStats:
    """Counts not yet in the database: {(minute, tool, outcome): {bin: calls}}."""

    counts: dict[Key, Counter[int]]

    def rows(self) -> list[ToolStat]:
        return sorted(
            ToolStat(datetime.fromtimestamp(minute * 60, UTC), tool, outcome, bin_index, calls)
            for (minute, tool, outcome), bins in self.counts.items()
            for bin_index, calls in bins.items()
        )


class CallStats:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._counts: dict[Key, Counter[int]] = {}
        self.listeners: list[Listener] = []  # also told of each call (the /metrics endpoint's counters)
        self._purged: datetime | None = None

    def record(self, tool: str, outcome: str, seconds: float) -> None:
        """Count one call: no I/O, a dictionary update."""
        key = (int(self.clock.now().timestamp()) // 60, tool, outcome)
        bins = self._counts.get(key)
        if bins is None:  # not setdefault: it would build a Counter on every call
            bins = self._counts[key] = Counter()
        bins[bin_of(seconds)] += 1
        for listener in self.listeners:
            listener(tool, outcome, seconds)

    def pending(self) -> PendingStats:
        """A copy of what this process counted and has not flushed yet."""
        return PendingStats({key: Counter(bins) for key, bins in self._counts.items()})

    async def flush(self, calls: CallRunner) -> int:
        """Add what was counted since the last flush to the database; returns how many rows it upserted."""
        taken, self._counts = self._counts, {}
        rows = PendingStats(taken).rows()
        now = self.clock.now()
        purge = self._purged is None or now - self._purged >= _PURGE_EVERY
        if not rows and not purge:
            return 0

        async def add(uow: UnitOfWork) -> None:
            stats = uow.repo(TOOL_STATS)
            if rows:
                await stats.add(rows)
            if purge:
                await stats.purge(now - RETENTION)

        try:
            await calls.write(add)
        except BaseException:
            self._put_back(taken)
            raise
        if purge:
            self._purged = now
        return len(rows)

    def _put_back(self, taken: dict[Key, Counter[int]]) -> None:
        for key, bins in taken.items():
            self._counts.setdefault(key, Counter()).update(bins)
