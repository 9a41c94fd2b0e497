"""The sandbox clock: the injected Clock every service reads, ahead of the real time by an offset kept in the database.

The offset is one row (adapters/db/sandbox_clock_repo.py) so that every server and worker process agrees on the
time. Reading it on every call would cost a round trip per unit of work: instead each process keeps the offset in
memory, reads it when it starts and every `follow` interval after that (one cheap statement), and the process that
advances the clock applies the new offset at once. Another process so lags behind an advance by at most one
interval. The offset only grows: the sandbox's time never goes backwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from mcp_payments.services.ports import Clock, Repo


@dataclass(frozen=True, slots=True)
class ClockState:
    offset: timedelta  # how far the sandbox's time is ahead of the real time
    advancing_to: datetime | None  # set while an advance runs the due work up to that instant


class SandboxClockRepository(Protocol):
    async def get(self, *, lock: bool = False) -> ClockState: ...
    async def start_advance(self, target: datetime, now: datetime) -> None: ...
    async def move(self, offset: timedelta, now: datetime) -> None:
        """The offset, unless the stored one is larger already (two advancing processes never move it back)."""
        ...

    async def finish_advance(self, target: datetime, now: datetime) -> None:
        """The advance to `target` is done: nothing is advancing any more, unless another advance began since."""
        ...


SANDBOX_CLOCK: Repo[SandboxClockRepository] = Repo("sandbox_clock")  # the platform's, registered by bootstrap


class SandboxClock:
    """`base` (the real clock, or a test's) plus the offset this process knows of."""

    def __init__(self, base: Clock) -> None:
        self.base = base
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return self.base.now() + self.offset

    def apply(self, offset: timedelta) -> None:
        """Take an offset read from the database or just written; a smaller one (an old read) changes nothing."""
        self.offset = max(self.offset, offset)

    def offset_for(self, instant: datetime) -> timedelta:
        """The offset at which this clock reads `instant` now."""
        return instant - self.base.now()
