"""The ports services depend on. Adapters implement them; tests may hand in fakes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, Self, TypeVar, runtime_checkable

from mcp_payments.domain.api_keys import ApiKey
from mcp_payments.domain.approvals import Approval
from mcp_payments.domain.cards import PaymentMethod
from mcp_payments.domain.fx import ConversionRecord, Position
from mcp_payments.domain.ledger import Account, AccountType, Entry, Hold, JournalTransaction
from mcp_payments.domain.limits import Counts, Policy, Usage
from mcp_payments.domain.mandates import Mandate
from mcp_payments.domain.mandates import Status as MandateStatus
from mcp_payments.domain.payments import Attempt, Customer, Payment, PaymentEvent, Refund

R = TypeVar("R")


class Clock(Protocol):
    def now(self) -> datetime: ...


class Ids(Protocol):
    def new(self, prefix: str) -> str: ...


@dataclass(frozen=True, slots=True)
class Claim:
    """Which due items a job may take now (services/jobs.py): at most `limit`, leaving out those held back by
    their failures (parked, or waiting for their retry unless `waiting`) and those in `skip` (handled already
    in this pass). Claim queries lock what they return and skip rows another worker holds."""

    job: str
    now: datetime
    limit: int = 1
    skip: frozenset[str] = frozenset()
    waiting: bool = False  # True: count items waiting for their retry as due (the lag), only parked ones are out


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
class AccountFindings:
    """The accounts whose cached balances, holds or limits are wrong (at most the limit asked for, in id order),
    with their journal and hold sums; how many accounts there are, and how many problems the wrong ones have."""

    accounts_checked: int
    accounts: list[Account]
    entry_sums: dict[str, int]
    pending_sums: dict[str, int]
    problems_total: int


@dataclass(frozen=True, slots=True)
class LedgerTotals:
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
    async def post(self, txn: JournalTransaction) -> PostResult: ...
    async def add_conversion(self, record: ConversionRecord) -> None: ...
    async def adjust_pending(self, account_id: str, delta: int) -> None: ...
    async def add_hold(self, hold: Hold) -> None: ...
    async def lock_hold(self, hold_id: str) -> Hold | None: ...
    async def get_hold(self, hold_id: str) -> Hold | None: ...
    async def update_hold(self, hold: Hold) -> None: ...
    async def claim_expired_holds(self, claim: Claim) -> list[Hold]: ...
    async def oldest_expired_hold(self, claim: Claim) -> datetime | None: ...
    async def statement(self, account_id: str, after_entry: int | None, limit: int) -> list[StatementLine]: ...
    async def transactions_for(self, reference: str) -> list[JournalTransaction]: ...
    async def journal_page(self, after: str | None, limit: int) -> list[JournalTransaction]: ...
    async def entries_of(self, transaction_id: str) -> list[Entry]: ...
    async def not_integers(self) -> list[tuple[str, str]]: ...
    async def totals(self) -> LedgerTotals: ...
    async def account_findings(self, limit: int) -> AccountFindings:
        """The accounts domain.ledger.integrity_problems would report, found in SQL (not_integers() first)."""
        ...


@dataclass(frozen=True, slots=True)
class StoredCall:
    tool: str
    request_hash: str
    arguments: dict[str, Any]
    response: dict[str, Any]
    expires_at: datetime


class IdempotencyRepository(Protocol):
    async def claim(
        self, principal: str, key: str, call: StoredCall, now: datetime, *, begin: bool = False
    ) -> StoredCall | None:
        """Take the key for this call (None), or return the live call that holds it.

        A concurrent claim of the same key waits until the holder commits or rolls back.
        An expired holder is replaced. begin=True: the claim also begins the unit of work's transaction (made
        with begin=False), in the same round trip where the database allows it.
        """
        ...

    async def complete(self, principal: str, key: str, response: dict[str, Any], audit: AuditRecord) -> None:
        """Store the call's response under its key and append its (unsealed) audit record, in one statement where
        the database allows it."""
        ...

    async def claim_expired(self, claim: Claim) -> list[tuple[str, str]]:
        """(principal, key) of expired keys, locked."""
        ...

    async def delete(self, principal: str, key: str) -> None: ...
    async def oldest_expiry(self, claim: Claim) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """A record as stored: its id and body, and once sealed its place in the chain (seq, prev_hash, hash)."""

    id: str
    record: dict[str, Any]
    seq: int | None = None
    prev_hash: str | None = None
    hash: str | None = None


@dataclass(frozen=True, slots=True)
class AuditLink:
    """Where the sealer puts a record in the chain."""

    id: str
    seq: int
    prev_hash: str
    hash: str


class AuditRepository(Protocol):
    async def append(self, record: AuditRecord) -> None:
        """Insert an unsealed record (no lock shared with other calls)."""
        ...

    async def append_many(self, records: Sequence[AuditRecord]) -> None:
        """append() of each, in one statement."""
        ...

    async def head(self) -> tuple[int, str]:
        """(seq, hash) of the last sealed record; (0, GENESIS) before the first."""
        ...

    async def lock_head(self) -> tuple[int, str] | None:
        """The head, locked until commit so that one sealer at a time moves it; None when another sealer holds it
        (PostgreSQL, SKIP LOCKED; on SQLite the write lock already makes the sealer the only writer)."""
        ...

    async def unsealed(self, claim: Claim) -> list[AuditRecord]:
        """Committed records not sealed yet, in id order, at most claim.limit (those held back by failures left
        out). Selected by `seq IS NULL`, not by position: a record that commits after later ones were sealed is
        still found."""
        ...

    async def seal(self, links: Sequence[AuditLink]) -> None:
        """Set each record's place in the chain (only where still unsealed) and move the head to the last link;
        raises if any of them was sealed already, so the transaction rolls back whole."""
        ...

    async def unsealed_count(self) -> int: ...
    async def oldest_unsealed(self, claim: Claim) -> datetime | None: ...
    async def hashes_at(self, seqs: Sequence[int]) -> dict[int, str]: ...
    async def by_ids(self, ids: Sequence[str]) -> dict[str, AuditRecord]: ...
    async def page(self, after: str | None, limit: int, tool: str | None) -> list[AuditRecord]:
        """Sealed and unsealed records, newest (highest id) first; `after` continues below that id."""
        ...

    async def scan(self, after: int, limit: int) -> list[AuditRecord]:
        """Sealed records in chain order, from seq after + 1."""
        ...

    async def scan_all(self, after: str | None, limit: int) -> list[AuditRecord]:
        """Every record, sealed or not, in id order."""
        ...


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
    async def search(self, where: PaymentFilter, before: str | None, limit: int) -> list[Payment]:
        """Newest id first; `before` continues below that id."""
        ...

    async def search_by_created(
        self, where: PaymentFilter, before: tuple[datetime, str] | None, limit: int
    ) -> list[Payment]:
        """Newest created_at first, ties by id; `before` continues below that (created_at, id)."""
        ...

    async def add_attempt(self, payment_id: str, attempt: Attempt) -> None: ...
    async def attempts(self, payment_id: str) -> list[Attempt]: ...
    async def add_events(self, payment_id: str, events: Sequence[PaymentEvent]) -> None:
        """The payment's events, in this order, in one statement."""
        ...

    async def events(self, payment_id: str) -> list[PaymentEvent]: ...
    async def add_refund(self, refund: Refund) -> None: ...
    async def get_refund(self, refund_id: str, *, lock: bool = False) -> Refund | None: ...
    async def update_refund(self, refund: Refund) -> None: ...
    async def refunds(self, payment_id: str) -> list[Refund]: ...
    async def claim_due(self, claim: Claim, action_cutoff: datetime) -> list[Payment]:
        """Authorizations past expiry and requires_action payments not updated since the cutoff, locked."""
        ...

    async def oldest_due(self, claim: Claim, action_cutoff: datetime) -> tuple[datetime | None, datetime | None]:
        """(the oldest expiry of a due authorization, the oldest update of a due requires_action payment)."""
        ...


class ProviderEventRepository(Protocol):
    async def record(self, event_id: str, type: str, payload: dict[str, Any], now: datetime) -> bool:
        """False when this event id was seen before."""
        ...

    async def mark(self, event_id: str, status: str, now: datetime) -> None: ...
    async def claim_pending(self, claim: Claim) -> list[InboundEvent]: ...
    async def oldest_pending(self, claim: Claim) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class OutboundEvent:
    """An event the provider has queued for us (the sandbox's outbox), as the provider will send it."""

    id: str
    type: str
    body: bytes
    created_at: datetime


class ProviderOutboxRepository(Protocol):
    """Events the provider queued, kept in the transaction of the change that caused them (the outbox
    pattern): a rolled-back payment queues nothing, and a restart loses nothing."""

    async def add(self, event: OutboundEvent) -> None: ...
    async def claim(self, claim: Claim) -> list[OutboundEvent]:
        """The oldest undelivered events, in the order they were queued, locked."""
        ...

    async def delivered(self, event_id: str) -> None: ...
    async def oldest(self, claim: Claim) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class JobRun:
    """One run of one job by one worker: finished_at is None while it runs, or when its process died."""

    id: int
    job: str
    worker: str
    started_at: datetime
    finished_at: datetime | None
    done: int
    failed: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class ItemFailure:
    """An item whose handling failed: retried at retry_at, or parked (never retried by itself)."""

    job: str
    item_id: str
    attempts: int
    first_failed_at: datetime
    last_failed_at: datetime
    retry_at: datetime | None
    parked: bool
    last_error: str


class JobRepository(Protocol):
    """What the job runner records: each run, and each failing item (whose failures hold it back)."""

    async def start_run(self, job: str, worker: str, now: datetime) -> int: ...
    async def finish_run(self, run_id: int, now: datetime, done: int, failed: int, last_error: str | None) -> None: ...
    async def fail(self, job: str, item_id: str, error: str, now: datetime) -> int:
        """Count one more failed attempt of the item; returns its attempts so far."""
        ...

    async def hold_back(self, job: str, item_id: str, retry_at: datetime | None) -> None:
        """Retry the item at retry_at; None parks it."""
        ...

    async def clear(self, job: str, item_ids: Sequence[str]) -> None:
        """Forget the failures of items handled since."""
        ...

    async def last_runs(self, jobs: Sequence[str]) -> dict[str, JobRun]: ...
    async def failures(self, job: str, limit: int) -> list[ItemFailure]:
        """The job's failing items, most recent failure first."""
        ...

    async def failure_counts(self) -> dict[str, tuple[int, int]]:
        """Per job: (items waiting for a retry, items parked)."""
        ...

    async def claim_old_runs(self, claim: Claim, before: datetime) -> list[int]: ...
    async def delete_run(self, run_id: int) -> None: ...
    async def oldest_run(self, claim: Claim, before: datetime) -> datetime | None: ...


class ApiKeyRepository(Protocol):
    async def add(self, key: ApiKey) -> None: ...
    async def get(self, key_id: str, *, lock: bool = False) -> ApiKey | None: ...
    async def all(self) -> list[ApiKey]:
        """Every key, revoked and expired ones too, oldest first."""
        ...

    async def revoke(self, key_id: str, at: datetime) -> None: ...
    async def touch(self, key_id: str, at: datetime) -> None:
        """Record a use of the key (its last_used_at)."""
        ...


@dataclass(frozen=True, slots=True)
class SpendRecord:
    """One counted money call: written in the transaction of the movement it counts."""

    principal: str
    currency: str
    counts: Counts
    amount: int
    payee: str | None
    tool: str
    at: datetime


class SpendingRepository(Protocol):
    async def policies(self, subjects: Sequence[str], currency: str | None = None) -> list[Policy]:
        """The policies of these subjects (principals, role:<role>), in one currency or all."""
        ...

    async def all_policies(self) -> list[Policy]: ...
    async def put_policy(self, policy: Policy) -> None:
        """Create or replace the policy of its subject and currency."""
        ...

    async def delete_policy(self, subject: str, currency: str) -> bool: ...
    async def lock(self, principal: str, currency: str) -> None:
        """Serialize the counted calls of one principal in one currency until commit."""
        ...

    async def usage(self, principal: str, currency: str, payee: str | None, now: datetime) -> Usage: ...
    async def counted(
        self, principal: str, currency: str, counts: Counts | None, payee: str | None, since: datetime
    ) -> list[tuple[datetime, int]]:
        """(time, amount) of the calls counted since `since`: of one kind (None: both), to one payee (None: any)."""
        ...

    async def record(self, spend: SpendRecord) -> None: ...


class ApprovalRepository(Protocol):
    async def add(self, approval: Approval) -> None: ...
    async def get(self, approval_id: str, *, lock: bool = False) -> Approval | None:
        """lock: held until commit (FOR UPDATE on PostgreSQL; SQLite has one writer)."""
        ...

    async def pending(self, principal: str | None, after: str | None, limit: int) -> list[Approval]:
        """Pending approvals by id (oldest first), of one requester or (None) of all."""
        ...

    async def finish(self, approval: Approval) -> bool:
        """Write a decided approval over its row if that row is still pending; False when it is not."""
        ...

    async def store_result(self, approval_id: str, result: dict[str, Any]) -> None: ...
    async def expired(self, claim: Claim) -> list[Approval]:
        """Pending approvals past their expiry, locked, skipping those another worker holds."""
        ...

    async def oldest_expired(self, claim: Claim) -> datetime | None: ...


class MandateRepository(Protocol):
    async def add(self, mandate: Mandate) -> None: ...
    async def get(self, mandate_id: str, *, lock: bool = False) -> Mandate | None:
        """lock: hold the row until commit (FOR UPDATE on PostgreSQL; SQLite has one writer)."""
        ...

    async def save_debit(self, mandate: Mandate) -> None:
        """Store what `mandate` has spent in its current period."""
        ...

    async def revoke(self, mandate_id: str, at: datetime, by: str) -> None: ...
    async def search(
        self, principal: str | None, status: MandateStatus | None, now: datetime, before: str | None, limit: int
    ) -> list[Mandate]:
        """Newest first: one principal's mandates (None: everyone's) in one status at `now` (None: any), those
        with an id below `before`."""
        ...


@dataclass(frozen=True, slots=True, order=True)
class ToolStat:
    """Calls of one tool with one outcome in one minute whose latency fell in one bin (domain/latency.py)."""

    minute: datetime
    tool: str
    outcome: str
    bin: int
    calls: int


class ToolStatsRepository(Protocol):
    async def add(self, rows: Sequence[ToolStat]) -> None:
        """Add the rows' calls to those stored under the same (minute, tool, outcome, bin)."""
        ...

    async def since(self, minute: datetime) -> list[ToolStat]:
        """The calls since `minute`, summed per (tool, outcome, bin); `minute` of each row is the oldest kept."""
        ...

    async def purge(self, before: datetime) -> None: ...


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
PROVIDER_OUTBOX: Repo[ProviderOutboxRepository] = Repo("provider_outbox")
JOBS: Repo[JobRepository] = Repo("jobs")  # the platform's, registered by bootstrap
API_KEYS: Repo[ApiKeyRepository] = Repo("api_keys")
SPENDING: Repo[SpendingRepository] = Repo("spending")
APPROVALS: Repo[ApprovalRepository] = Repo("approvals")
MANDATES: Repo[MandateRepository] = Repo("mandates")
TOOL_STATS: Repo[ToolStatsRepository] = Repo("tool_stats")  # the platform's, registered by bootstrap


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
    def __call__(self, *, write: bool = True, snapshot: bool = True, begin: bool = True) -> UnitOfWork:
        """A unit of work. A read with snapshot=False is one statement and needs no transaction. A write with
        begin=False has its transaction begun by its first statement, `idempotency.claim(..., begin=True)`;
        nothing else may run before it."""
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
class PoolStats:
    """One connection pool of the unit-of-work factory: its size, connections in use, open ones idle."""

    name: str  # writer | reader
    size: int
    in_use: int
    idle: int


@runtime_checkable
class ReportsPools(Protocol):
    """A unit-of-work factory that can say how its connection pools are used (for /metrics)."""

    def pool_stats(self) -> list[PoolStats]: ...


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
    """A payment provider. Each call that acts is handed the unit of work of the change it belongs to: the
    provider may queue asynchronous events in it (the sandbox's outbox), so that they exist exactly when the
    change does."""

    name: str

    def tokenize(self, card: CardInput) -> PaymentMethod: ...
    def payment_method(self, token: str) -> PaymentMethod: ...
    async def authorize(
        self, uow: UnitOfWork, payment_id: str, amount: int, currency: str, method: PaymentMethod, capture: bool
    ) -> ProviderOutcome: ...
    async def confirm_action(
        self, uow: UnitOfWork, payment_id: str, method: PaymentMethod, capture: bool
    ) -> ProviderOutcome: ...
    async def capture(
        self, uow: UnitOfWork, payment_id: str, amount: int, method: PaymentMethod
    ) -> ProviderOutcome: ...
    async def cancel(self, uow: UnitOfWork, payment_id: str) -> ProviderOutcome: ...
    async def refund(
        self, uow: UnitOfWork, refund_id: str, payment_id: str, amount: int, method: PaymentMethod
    ) -> ProviderOutcome: ...
