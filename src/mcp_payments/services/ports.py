"""The ports services depend on. Adapters implement them; tests may hand in fakes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, Self

from mcp_payments.domain.ledger import Account, AccountType, Entry, Hold, JournalTransaction


class Clock(Protocol):
    def now(self) -> datetime: ...


class Ids(Protocol):
    def new(self, prefix: str) -> str: ...


@dataclass(frozen=True, slots=True)
class PostResult:
    """The locked accounts as they were before the posting, and whether it was applied."""

    applied: bool
    before: dict[str, Account]


@dataclass(frozen=True, slots=True)
class StatementLine:
    entry_id: int
    transaction_id: str
    kind: str
    memo: str | None
    amount: int
    currency: str
    created_at: datetime
    balance_after: int
    counterparties: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LedgerTotals:
    entry_sums: dict[str, int]
    pending_sums: dict[str, int]
    unbalanced_transactions: list[str]
    global_sums: dict[str, int]
    transactions: int
    entries: int


class LedgerRepository(Protocol):
    async def add_account(self, account: Account) -> None: ...
    async def ensure_system_account(self, type: AccountType, currency: str, now: datetime) -> str: ...
    async def get_account(self, account_id: str) -> Account | None: ...
    async def lock_accounts(self, ids: Sequence[str]) -> dict[str, Account]: ...
    async def list_accounts(self, type: AccountType, after: str | None, limit: int) -> list[Account]: ...
    async def all_accounts(self) -> list[Account]: ...
    async def post(self, txn: JournalTransaction) -> PostResult: ...
    async def adjust_pending(self, account_id: str, delta: int) -> None: ...
    async def add_hold(self, hold: Hold) -> None: ...
    async def lock_hold(self, hold_id: str) -> Hold | None: ...
    async def get_hold(self, hold_id: str) -> Hold | None: ...
    async def update_hold(self, hold: Hold) -> None: ...
    async def claim_expired_holds(self, now: datetime, limit: int) -> list[Hold]: ...
    async def statement(self, account_id: str, after_entry: int | None, limit: int) -> list[StatementLine]: ...
    async def entries_of(self, transaction_id: str) -> list[Entry]: ...
    async def totals(self) -> LedgerTotals: ...


@dataclass(frozen=True, slots=True)
class StoredCall:
    tool: str
    request_hash: str
    arguments: dict[str, Any]
    response: dict[str, Any]
    expires_at: datetime


class IdempotencyRepository(Protocol):
    async def claim(self, principal: str, key: str, call: StoredCall, now: datetime) -> StoredCall | None:
        """Take the key for this call (None), or return the live call that holds it.

        A concurrent claim of the same key waits until the holder commits or rolls back.
        An expired holder is replaced.
        """
        ...

    async def complete(self, principal: str, key: str, response: dict[str, Any]) -> None: ...
    async def purge_expired(self, now: datetime) -> int: ...


@dataclass(frozen=True, slots=True)
class AuditRecord:
    seq: int
    record: dict[str, Any]
    prev_hash: str
    hash: str


class AuditRepository(Protocol):
    async def lock_head(self) -> tuple[int, str]:
        """(last seq, last hash), locked until commit so the chain has one order."""
        ...

    async def head(self) -> tuple[int, str]: ...
    async def append(self, record: AuditRecord) -> None: ...
    async def page(self, after: int | None, limit: int, tool: str | None) -> list[AuditRecord]: ...
    async def scan(self, after: int, limit: int) -> list[AuditRecord]: ...


class UnitOfWork(Protocol):
    @property
    def ledger(self) -> LedgerRepository: ...
    @property
    def idempotency(self) -> IdempotencyRepository: ...
    @property
    def audit(self) -> AuditRepository: ...

    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, write: bool = True) -> UnitOfWork: ...

    @property
    def backend(self) -> str: ...

    async def ping(self) -> float:
        """Round-trip time to the database in milliseconds."""
        ...

    async def schema_revision(self) -> tuple[str | None, str]:
        """(the database's migration revision, the code's head revision)."""
        ...
