"""The monitoring category's repository port, reached as `uow.repo(MONITORING)`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mcp_payments.services.ports import Repo


@dataclass(frozen=True, slots=True)
class Mark:
    """The last run of something watched: when, whether it found things sound, and a line about it."""

    name: str
    at: datetime
    ok: bool
    detail: str | None


@dataclass(frozen=True, slots=True)
class Authorizations:
    """Authorization attempts answered by the provider in a period: approved and declined (3-D Secure steps still
    waiting for the customer count as neither, as in Stripe's authorization rate)."""

    approved: int
    declined: int

    @property
    def total(self) -> int:
        return self.approved + self.declined


class MonitoringRepository(Protocol):
    async def put_mark(self, mark: Mark) -> None:
        """Create or replace the mark of its name."""
        ...

    async def mark(self, name: str) -> Mark | None: ...
    async def authorizations(self, since: datetime, until: datetime) -> Authorizations:
        """The attempts answered after `since` and up to `until` included."""
        ...


MONITORING: Repo[MonitoringRepository] = Repo("monitoring")
