"""The compliance flags' repository port, reached as `uow.repo(FLAGS)`, and what it reads of the ledger."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mcp_payments.domain.compliance_flags import Flag, FlagStatus, Rule
from mcp_payments.services.ports import Repo


@dataclass(frozen=True, slots=True)
class Posted:
    """One journal entry of a wallet: its transaction, signed amount (minor units) and time."""

    transaction_id: str
    amount: int
    currency: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Totals:
    """An account's entries in a window, in its currency's minor units."""

    count: int
    arrived: int
    left: int  # a positive number


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

    async def entries_of(self, account_id: str, transaction_ids: Collection[str]) -> list[Posted]:
        """The account's entries in these transactions."""
        ...

    async def totals(self, account_id: str, since: datetime, excluding: Collection[str]) -> Totals:
        """The account's entries since `since`, summed, leaving out these transactions."""
        ...

    async def at_least(self, account_id: str, since: datetime, minor: int, excluding: Collection[str]) -> list[Posted]:
        """The account's entries since `since` of at least `minor` either way, oldest first."""
        ...

    async def payments_of(self, payment_ids: Collection[str]) -> list[Posted]:
        """These payments as (payment id, amount, currency, created at)."""
        ...

    async def payment_totals(
        self, customer_id: str, since: datetime, excluding: Collection[str]
    ) -> list[tuple[str, int, int]]:
        """The customer's payments created since `since`, by currency: (currency, count, sum of amounts)."""
        ...

    async def known_payee(self, payee: str) -> bool:
        """Whether money went to `payee` after a screening let it through."""
        ...

    async def add_known_payee(self, payee: str, screening_id: str, now: datetime) -> None: ...


FLAGS: Repo[FlagRepository] = Repo("compliance_flags")
