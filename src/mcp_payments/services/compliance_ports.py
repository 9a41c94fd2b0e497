"""The compliance flags' repository port, reached as `uow.repo(FLAGS)`, and what it reads of the ledger."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from mcp_payments.domain.compliance_flags import Flag, FlagStatus, Rule
from mcp_payments.services.ports import Repo


@dataclass(frozen=True, slots=True)
class Posted:
    """One journal entry of a wallet (its transaction, signed amount in minor units, time), or one payment of a
    customer (its id, amount, time)."""

    transaction_id: str
    amount: int
    currency: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ActivityQuery:
    wallet_ids: tuple[str, ...]
    transaction_ids: tuple[str, ...]  # the call's own: its entries are current, the others history
    fast_since: datetime  # the velocity window's start
    through_since: datetime  # the pass-through window's start
    band_since: datetime  # the structuring window's start
    band_minor: int  # the least entry in the band in any currency (domain/aml.py band_low, in minor units)


@dataclass
class Activity:
    """A wallet's part of an ActivityQuery's answer, in its currency's minor units."""

    wallet_id: str
    current: list[Posted] = field(default_factory=list)
    band: list[Posted] = field(default_factory=list)
    fast_count: int = 0
    fast_moved: int = 0  # in and out together
    arrived: int = 0
    left: int = 0  # a positive number


class FlagRepository(Protocol):
    async def add(self, flag: Flag) -> bool:
        """Insert the flag unless one with its key exists; True when it was inserted."""
        ...

    async def get(self, flag_id: str, *, lock: bool = False) -> Flag | None: ...
    async def resolve(self, flag: Flag) -> bool:
        """Store the resolution if the flag is still open; False when someone resolved it meanwhile."""
        ...

    async def page(
        self, status: FlagStatus | None, rule: Rule | None, since: datetime | None, after: str | None, limit: int
    ) -> list[Flag]:
        """Flags oldest first, after the id `after`."""
        ...

    async def activity(self, query: ActivityQuery) -> list[Activity]:
        """For each wallet of the query, in one round trip: its entries in the query's transactions, the totals of
        its other entries in the two windows, and its other entries of at least `band_minor` either way within
        the structuring window."""
        ...

    async def customer_payments(self, customer_id: str, since: datetime) -> list[Posted]:
        """The customer's payments created since `since` (payment id, amount, currency, time), oldest first."""
        ...

    async def known_payee(self, payee: str) -> bool:
        """Whether money went to `payee` after a screening let it through."""
        ...

    async def add_known_payee(self, payee: str, screening_id: str, now: datetime) -> None: ...


FLAGS: Repo[FlagRepository] = Repo("compliance_flags")
