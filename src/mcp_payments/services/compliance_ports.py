"""The compliance flags' repository port, reached as `uow.repo(FLAGS)`, and what it reads of the ledger."""

from __future__ import annotations

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

    async def postings(self, account_id: str, since: datetime) -> list[Posted]:
        """The account's journal entries since `since`, oldest first."""
        ...

    async def customer_payments(self, customer_id: str, since: datetime) -> list[Posted]:
        """The customer's payments created since `since` (payment id, amount, currency, time), oldest first."""
        ...

    async def known_payee(self, payee: str) -> bool:
        """Whether money went to `payee` after a screening let it through."""
        ...

    async def add_known_payee(self, payee: str, screening_id: str, now: datetime) -> None: ...


FLAGS: Repo[FlagRepository] = Repo("compliance_flags")
