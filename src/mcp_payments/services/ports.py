"""The ports services depend on. Adapters implement them; tests may hand in fakes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, Self, TypeVar

from mcp_payments.domain.cards import PaymentMethod
from mcp_payments.domain.fx import ConversionRecord, Position
from mcp_payments.domain.ledger import Account, AccountType, Entry, Hold, JournalTransaction
from mcp_payments.domain.payments import Attempt, Customer, Payment, PaymentEvent, Refund

R = TypeVar("R")


class Clock(Protocol):
    def now(self) -> datetime: ...


class Ids(Protocol):
    def new(self, prefix: str) -> str: ...


class Signer(Protocol):
    """Signs with a key that is not in the database (adapters/signing.py)."""

    @property
    def public_key(self) -> str: ...
    def sign(self, message: bytes) -> bytes: ...
    def verify(self, message: bytes, signature: bytes) -> bool: ...


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
    fx_positions: list[Position]
    fx_conversions: list[ConversionRecord]  # every booked conversion, for the per-conversion checks
    fx_unmatched: list[str]  # conversions whose journal transaction is not the one their record describes


class LedgerRepository(Protocol):
    posted: list[JournalTransaction]  # what this unit of work posted, in order

    async def add_account(self, account: Account) -> None: ...
    async def ensure_system_account(self, type: AccountType, currency: str, now: datetime) -> str: ...
    async def get_account(self, account_id: str) -> Account | None: ...
    async def lock_accounts(self, ids: Sequence[str]) -> dict[str, Account]: ...
    async def list_accounts(self, type: AccountType, after: str | None, limit: int) -> list[Account]: ...
    async def all_accounts(self) -> list[Account]: ...
    async def post(self, txn: JournalTransaction) -> PostResult: ...
    async def add_conversion(self, record: ConversionRecord) -> None: ...
    async def adjust_pending(self, account_id: str, delta: int) -> None: ...
    async def add_hold(self, hold: Hold) -> None: ...
    async def lock_hold(self, hold_id: str) -> Hold | None: ...
    async def get_hold(self, hold_id: str) -> Hold | None: ...
    async def update_hold(self, hold: Hold) -> None: ...
    async def claim_expired_holds(self, now: datetime, limit: int) -> list[Hold]: ...
    async def statement(self, account_id: str, after_entry: int | None, limit: int) -> list[StatementLine]: ...
    async def transactions_for(self, reference: str) -> list[JournalTransaction]: ...
    async def journal_page(self, after: str | None, limit: int) -> list[JournalTransaction]: ...
    async def entries_of(self, transaction_id: str) -> list[Entry]: ...
    async def not_integers(self) -> list[tuple[str, str]]: ...
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
    async def hashes_at(self, seqs: Sequence[int]) -> dict[int, str]: ...
    async def append(self, record: AuditRecord) -> None: ...
    async def page(self, after: int | None, limit: int, tool: str | None) -> list[AuditRecord]: ...
    async def scan(self, after: int, limit: int) -> list[AuditRecord]: ...


@dataclass(frozen=True, slots=True)
class PaymentFilter:
    status: str | None = None
    customer_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


@dataclass(frozen=True, slots=True)
class InboundEvent:
    id: str
    type: str
    payload: dict[str, Any]
    attempts: int


class CustomerRepository(Protocol):
    async def add(self, customer: Customer) -> None: ...
    async def get(self, customer_id: str) -> Customer | None: ...
    async def search(self, email: str | None, name: str | None, after: str | None, limit: int) -> list[Customer]: ...


class PaymentRepository(Protocol):
    async def add(self, payment: Payment) -> None: ...
    async def get(self, payment_id: str, *, lock: bool = False) -> Payment | None: ...
    async def update(self, payment: Payment) -> None: ...
    async def search(self, where: PaymentFilter, before: str | None, limit: int) -> list[Payment]: ...
    async def add_attempt(self, payment_id: str, attempt: Attempt) -> None: ...
    async def attempts(self, payment_id: str) -> list[Attempt]: ...
    async def add_event(self, payment_id: str, event: PaymentEvent) -> None: ...
    async def events(self, payment_id: str) -> list[PaymentEvent]: ...
    async def add_refund(self, refund: Refund) -> None: ...
    async def get_refund(self, refund_id: str, *, lock: bool = False) -> Refund | None: ...
    async def update_refund(self, refund: Refund) -> None: ...
    async def refunds(self, payment_id: str) -> list[Refund]: ...
    async def claim_due(self, now: datetime, action_cutoff: datetime, limit: int) -> list[Payment]:
        """Authorizations past expiry and requires_action payments older than the cutoff, locked, skipping
        rows another worker holds."""
        ...


class ProviderEventRepository(Protocol):
    async def record(self, event_id: str, type: str, payload: dict[str, Any], now: datetime) -> bool:
        """False when this event id was seen before."""
        ...

    async def mark(self, event_id: str, status: str, now: datetime) -> None: ...
    async def claim_pending(self, limit: int) -> list[InboundEvent]: ...


class Repo(Generic[R]):
    """Names a category's repository: `uow.repo(PAYMENTS)` is the PaymentRepository of that unit of work.

    The platform's own repositories (ledger, idempotency, audit) are properties of every unit of work; a
    category's are contributed by the category (catalog.py), so adding one touches no list here."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Repo({self.name!r})"


CUSTOMERS: Repo[CustomerRepository] = Repo("customers")
PAYMENTS: Repo[PaymentRepository] = Repo("payments")
PROVIDER_EVENTS: Repo[ProviderEventRepository] = Repo("provider_events")


class UnitOfWork(Protocol):
    @property
    def ledger(self) -> LedgerRepository: ...
    @property
    def idempotency(self) -> IdempotencyRepository: ...
    @property
    def audit(self) -> AuditRepository: ...
    def repo(self, name: Repo[R]) -> R:
        """A category's repository, bound to this unit of work's connection."""
        ...

    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, write: bool = True, snapshot: bool = True) -> UnitOfWork:
        """A unit of work. A read with snapshot=False is one statement and needs no transaction."""
        ...

    @property
    def backend(self) -> str: ...

    async def ping(self) -> float:
        """Round-trip time to the database in milliseconds."""
        ...

    async def schema_revision(self) -> tuple[str | None, str]:
        """(the database's migration revision, the code's head revision)."""
        ...


@dataclass(frozen=True, slots=True)
class CardInput:
    """Raw card details on their way to the provider. Never stored, logged or returned."""

    number: str
    exp_month: int
    exp_year: int
    cvc: str | None

    def __repr__(self) -> str:
        return "CardInput(<redacted>)"


@dataclass(frozen=True, slots=True)
class ProviderOutcome:
    """The provider's answer to a charge, capture, confirmation or refund."""

    status: str  # approved | declined | requires_action | pending | failed
    decline_code: str | None = None
    message: str | None = None


class PaymentProvider(Protocol):
    name: str

    def tokenize(self, card: CardInput) -> PaymentMethod: ...
    def payment_method(self, token: str) -> PaymentMethod: ...
    async def authorize(
        self, payment_id: str, amount: int, currency: str, method: PaymentMethod, capture: bool
    ) -> ProviderOutcome: ...
    async def confirm_action(self, payment_id: str, method: PaymentMethod, capture: bool) -> ProviderOutcome: ...
    async def capture(self, payment_id: str, amount: int, method: PaymentMethod) -> ProviderOutcome: ...
    async def cancel(self, payment_id: str) -> ProviderOutcome: ...
    async def refund(self, refund_id: str, payment_id: str, amount: int, method: PaymentMethod) -> ProviderOutcome: ...
    def drain_events(self) -> list[tuple[bytes, str]]:
        """Signed asynchronous events (body, signature header) the provider has queued for us."""
        ...

    def requeue_events(self, bodies: list[bytes]) -> None:
        """Put back events that could not be delivered, first in line."""
        ...
