"""The analytics category's repository port, reached as `uow.repo(ANALYTICS)`: every method aggregates in the
database and returns a few grouped rows, never the rows it summed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mcp_payments.domain.periods import Bucket
from mcp_payments.services.ports import Repo


@dataclass(frozen=True, slots=True)
class Window:
    """[start, end) in UTC, and one currency or all."""

    start: datetime
    end: datetime
    currency: str | None


@dataclass(frozen=True, slots=True)
class Sums:
    """A sum of minor units and the number of rows in it, for one bucket (its index) and currency."""

    bucket: int
    currency: str
    amount: int
    count: int
    fees: int = 0


@dataclass(frozen=True, slots=True)
class AttemptGroup:
    brand: str
    currency: str
    outcome: str  # approved | declined | requires_action
    decline_code: str | None
    count: int


@dataclass(frozen=True, slots=True)
class PaymentOutcomes:
    """Per currency, over the payments created in the window that captured money."""

    currency: str
    succeeded: int
    received: int
    refunded_payments: int
    refunded: int
    disputed_payments: int


@dataclass(frozen=True, slots=True)
class CustomerNet:
    customer_id: str
    currency: str
    net: int
    payments: int


@dataclass(frozen=True, slots=True)
class CurrencyNet:
    currency: str
    net: int
    customers: int


@dataclass(frozen=True, slots=True)
class CustomerCounts:
    active: int
    new: int
    returning: int


@dataclass(frozen=True, slots=True)
class CustomerTotals:
    top: list[CustomerNet]  # the best of each currency by net revenue, best first
    currencies: list[CurrencyNet]
    counts: CustomerCounts


@dataclass(frozen=True, slots=True)
class CohortCell:
    cohort: int  # index of the month of the customers' first payment
    month: int  # index of the month they paid in
    customers: int


@dataclass(frozen=True, slots=True)
class MrrGroup:
    """Plan-line sums (one period's price each) of the subscriptions of one currency and billing interval, at
    the window's start and end, and their movements between the two."""

    currency: str
    interval: str
    interval_count: int
    start: int
    end: int
    new: int
    expansion: int
    contraction: int
    churn: int
    reactivation: int
    subscriptions_start: int
    subscriptions_end: int
    churned: int


@dataclass(frozen=True, slots=True)
class Trials:
    ended: int
    converted: int


class AnalyticsRepository(Protocol):
    async def revenue(
        self, buckets: Sequence[Bucket], currency: str | None
    ) -> tuple[list[Sums], list[Sums], list[Sums]]:
        """captured, refunded and disputed together (one statement where the rollups serve the buckets)."""
        ...

    async def captured(self, buckets: Sequence[Bucket], currency: str | None) -> list[Sums]:
        """Money captured by payments created in each bucket, with their fees."""
        ...

    async def refunded(self, buckets: Sequence[Bucket], currency: str | None) -> list[Sums]:
        """Refunds (pending or succeeded) made in each bucket."""
        ...

    async def disputed(self, buckets: Sequence[Bucket], currency: str | None) -> list[Sums]:
        """What disputes took back in each bucket (the journal's postings to the disputes accounts)."""
        ...

    async def attempts(self, window: Window) -> list[AttemptGroup]: ...
    async def outcomes(self, window: Window) -> list[PaymentOutcomes]: ...
    async def customer_totals(self, window: Window, limit: int) -> CustomerTotals:
        """The `limit` customers with the highest net revenue per currency, best first, each currency's net revenue
        and paying customers, and how many customers paid (new: their first payment is in the window)."""
        ...

    async def cohorts(self, months: Sequence[Bucket], currency: str | None) -> list[CohortCell]: ...
    async def mrr(self, window: Window) -> list[MrrGroup]: ...
    async def pending_rollup_deltas(self) -> int:
        """Whether deltas wait to be compacted into the rollups (a count, capped)."""
        ...

    async def compact_rollups(self) -> bool:
        """Move the committed deltas into the rollups; False: another process is doing it."""
        ...

    async def trials(self, window: Window) -> Trials: ...


ANALYTICS: Repo[AnalyticsRepository] = Repo("analytics")
