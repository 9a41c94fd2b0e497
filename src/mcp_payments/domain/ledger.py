"""Double-entry ledger: accounts, journal transactions, entries and holds, with their posting rules.

An entry's amount is signed: positive adds to the account's balance, negative takes from it.
Every transaction's entries sum to zero per currency, so money is only ever moved, never made.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import assert_never

from mcp_payments.domain.errors import (
    BalanceLimitExceeded,
    CaptureExceedsHold,
    CurrencyMismatch,
    HoldExpired,
    HoldNotActive,
    InsufficientFunds,
    InvalidInput,
    SameAccount,
    WalletNotFound,
)
from mcp_payments.domain.money import LEDGER_LIMIT, MAX_BALANCE, Money, currency, format_minor


class AccountType(StrEnum):
    WALLET = "wallet"
    EXTERNAL = "external"  # the outside world: where funding comes from and withdrawals go
    FX = "fx"  # the FX desk's position per currency
    FX_ROUNDING = "fx_rounding"
    CLEARING = "clearing"  # money in flight at the payment provider
    MERCHANT = "merchant"  # the merchant's balance of captured payments, net of fees and refunds
    FEES = "fees"  # provider fees paid
    DISPUTES = "disputes"  # money withdrawn by disputes


def system_account_id(type: AccountType, currency: str) -> str:
    """The id of the one system account of `type` in `currency` (wallets have ids of their own)."""
    return f"acc_{type.value}_{currency}"


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    type: AccountType
    currency: str
    allow_overdraft: bool
    posted: int
    pending: int
    name: str
    created_at: datetime

    @property
    def available(self) -> int:
        return self.posted - self.pending

    def money(self, minor: int) -> Money:
        return Money.of(minor, self.currency)

    def decimal(self, minor: int) -> str:
        """`minor` of this account's currency as a decimal string, whatever its size (for messages: a balance
        changed behind the server's back may be past what Money accepts)."""
        return format_minor(minor, currency(self.currency).exponent)

    def moved(self, delta: int) -> Account:
        """This account with `delta` added to its posted balance (dataclasses.replace is ~5x slower)."""
        return Account(
            self.id,
            self.type,
            self.currency,
            self.allow_overdraft,
            self.posted + delta,
            self.pending,
            self.name,
            self.created_at,
        )


@dataclass(frozen=True, slots=True)
class Entry:
    account_id: str
    amount: int
    currency: str


@dataclass(frozen=True, slots=True)
class JournalTransaction:
    id: str
    kind: str
    entries: tuple[Entry, ...]
    memo: str | None
    created_at: datetime
    reference: str | None = None  # what the money moved for, e.g. a payment id

    def __post_init__(self) -> None:
        if len(self.entries) < 2:
            raise ValueError("a journal transaction needs at least two entries")
        if any(e.amount == 0 for e in self.entries):
            raise ValueError("an entry of zero moves nothing")
        if any(total != 0 for total in sums_by_currency(self.entries).values()):
            raise ValueError("entries must sum to zero per currency")

    @classmethod
    def stored(
        cls,
        id: str,
        kind: str,
        entries: tuple[Entry, ...],
        memo: str | None,
        created_at: datetime,
        reference: str | None,
    ) -> JournalTransaction:
        """A transaction as read back from the database, not checked again: the integrity check must be able
        to see one that was broken behind the server's back instead of failing on it."""
        txn = object.__new__(cls)
        for name, value in (
            ("id", id),
            ("kind", kind),
            ("entries", entries),
            ("memo", memo),
            ("created_at", created_at),
            ("reference", reference),
        ):
            object.__setattr__(txn, name, value)
        return txn

    def deltas(self) -> dict[str, int]:
        """Net change per account."""
        out: dict[str, int] = defaultdict(int)
        for e in self.entries:
            out[e.account_id] += e.amount
        return dict(out)


def sums_by_currency(entries: Iterable[Entry]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for e in entries:
        totals[e.currency] += e.amount
    return dict(totals)


def movement(
    txn_id: str,
    kind: str,
    source: str,
    target: str,
    amount: Money,
    memo: str | None,
    now: datetime,
    reference: str | None = None,
) -> JournalTransaction:
    """A same-currency movement of `amount` from `source` to `target`."""
    if source == target:
        raise SameAccount("source and destination are the same wallet: choose two different wallets")
    code = amount.currency.code
    entries = (Entry(source, -amount.minor, code), Entry(target, amount.minor, code))
    return JournalTransaction(txn_id, kind, entries, memo, now, reference)


def wallet_not_found(wallet_id: str) -> WalletNotFound:
    return WalletNotFound(
        f"wallet {wallet_id} does not exist: call list_wallets to find the right id", wallet_id=wallet_id
    )


def check_posting(accounts: Mapping[str, Account], txn: JournalTransaction) -> None:
    """Raise the domain error that stops `txn` from posting against `accounts` (locked snapshots)."""
    for e in txn.entries:
        acc = accounts.get(e.account_id)
        if acc is None:
            raise wallet_not_found(e.account_id)
        if acc.currency != e.currency:
            raise CurrencyMismatch(
                f"wallet {acc.id} holds {acc.currency}, not {e.currency}: use a wallet in {e.currency} "
                "or convert with get_fx_quote and a cross-currency transfer",
                wallet_id=acc.id,
                wallet_currency=acc.currency,
                requested_currency=e.currency,
            )
    for account_id, delta in txn.deltas().items():
        acc = accounts[account_id]
        if delta < 0 and not acc.allow_overdraft and acc.available + delta < 0:
            raise insufficient(acc, -delta)
        if not within_limits(acc, acc.posted + delta):
            raise over_limit(acc, delta)


def within_limits(acc: Account, posted: int) -> bool:
    """A wallet holds at most MAX_BALANCE; no account holds or owes more than LEDGER_LIMIT."""
    return abs(posted) <= LEDGER_LIMIT and (acc.allow_overdraft or posted <= MAX_BALANCE)


def over_limit(acc: Account, delta: int) -> BalanceLimitExceeded:
    limit = MAX_BALANCE if not acc.allow_overdraft else LEDGER_LIMIT
    return BalanceLimitExceeded(
        f"this would take {acc.id} past the ledger's limit of {Money.of(limit, acc.currency)} (it holds "
        f"{acc.decimal(acc.posted)} {acc.currency}, the change is {acc.decimal(delta)} {acc.currency}); move "
        "less, or spread the money over several wallets",
        account_id=acc.id,
        posted=acc.decimal(acc.posted),
        limit=Money.of(limit, acc.currency).decimal(),
        currency=acc.currency,
    )


def insufficient(acc: Account, requested: int) -> InsufficientFunds:
    return InsufficientFunds(
        f"insufficient_funds: wallet {acc.id} has {acc.decimal(acc.available)} {acc.currency} available, "
        f"{acc.decimal(requested)} {acc.currency} requested; fund the wallet or ask for less",
        wallet_id=acc.id,
        available=acc.decimal(acc.available),
        requested=acc.decimal(requested),
        currency=acc.currency,
    )


def apply(accounts: Mapping[str, Account], txn: JournalTransaction) -> dict[str, Account]:
    """The accounts after `txn` posts (after check_posting passed)."""
    return {aid: accounts[aid].moved(d) for aid, d in txn.deltas().items()}


class HoldStatus(StrEnum):
    ACTIVE = "active"
    CAPTURED = "captured"
    RELEASED = "released"
    EXPIRED = "expired"


def is_terminal(status: HoldStatus) -> bool:
    match status:
        case HoldStatus.ACTIVE:
            return False
        case HoldStatus.CAPTURED | HoldStatus.RELEASED | HoldStatus.EXPIRED:
            return True
        case _:
            assert_never(status)


@dataclass(frozen=True, slots=True)
class Hold:
    id: str
    account_id: str
    amount: int
    currency: str
    status: HoldStatus
    captured_amount: int
    memo: str | None
    created_at: datetime
    expires_at: datetime
    resolved_at: datetime | None
    capture_transaction_id: str | None


def place_hold(
    hold_id: str, acc: Account, amount: Money, memo: str | None, now: datetime, expires_at: datetime
) -> Hold:
    """Reserve `amount` on `acc`; the money stays posted but is no longer available."""
    if acc.type is not AccountType.WALLET:
        raise InvalidInput(f"{acc.id} is not a wallet")
    if amount.currency.code != acc.currency:
        raise CurrencyMismatch(
            f"wallet {acc.id} holds {acc.currency}, not {amount.currency}: hold in the wallet's currency",
            wallet_id=acc.id,
            wallet_currency=acc.currency,
            requested_currency=amount.currency.code,
        )
    if acc.available < amount.minor:
        raise insufficient(acc, amount.minor)
    return Hold(hold_id, acc.id, amount.minor, acc.currency, HoldStatus.ACTIVE, 0, memo, now, expires_at, None, None)


def check_resolvable(hold: Hold, now: datetime) -> None:
    """A hold can be captured or released once, while active and unexpired."""
    check_active(hold)
    if hold.expires_at <= now:
        raise HoldExpired(
            f"hold {hold.id} expired at {hold.expires_at.isoformat()} and its funds are released: place a new hold",
            hold_id=hold.id,
        )


def check_active(hold: Hold) -> None:
    """A resolved hold (captured, released or expired) stays as it was resolved."""
    if is_terminal(hold.status):
        raise HoldNotActive(
            f"hold {hold.id} is already {hold.status.value}; a hold resolves once: place a new hold",
            hold_id=hold.id,
            status=hold.status.value,
        )


def capture(
    hold: Hold, amount: Money | None, txn_id: str, target: str, memo: str | None, now: datetime
) -> tuple[Hold, JournalTransaction]:
    """Capture up to the held amount into `target`; whatever is not captured is released."""
    check_resolvable(hold, now)
    minor = hold.amount if amount is None else amount.minor
    if amount is not None and amount.currency.code != hold.currency:
        raise CurrencyMismatch(f"hold {hold.id} is in {hold.currency}, not {amount.currency}")
    if minor > hold.amount:
        held = Money.of(hold.amount, hold.currency)
        raise CaptureExceedsHold(
            f"cannot capture {Money.of(minor, hold.currency)}: hold {hold.id} reserves only {held}; "
            "capture at most the held amount",
            hold_id=hold.id,
            held=held.decimal(),
        )
    txn = movement(
        txn_id,
        "hold_capture",
        hold.account_id,
        target,
        Money(minor, currency(hold.currency)),
        memo or hold.memo,
        now,
    )
    captured = replace(
        hold,
        status=HoldStatus.CAPTURED,
        captured_amount=minor,
        resolved_at=now,
        capture_transaction_id=txn_id,
    )
    return captured, txn


def release(hold: Hold, now: datetime, *, expired: bool = False) -> Hold:
    """Give the whole reservation back to the wallet; `expired` is the sweeper's release past expiry."""
    if expired:
        check_active(hold)
    else:
        check_resolvable(hold, now)
    status = HoldStatus.EXPIRED if expired else HoldStatus.RELEASED
    return replace(hold, status=status, resolved_at=now)


def integrity_problems(
    accounts: Sequence[Account],
    entry_sums: Mapping[str, int],
    pending_sums: Mapping[str, int],
    unbalanced_txns: Sequence[str],
    global_sums: Mapping[str, int],
) -> list[str]:
    """Everything that contradicts the invariants; empty when the ledger is sound."""
    problems = [f"transaction {t} does not sum to zero per currency" for t in unbalanced_txns]
    problems += [f"{cur} entries sum to {total}, not 0" for cur, total in global_sums.items() if total]
    for acc in accounts:
        if acc.posted != entry_sums.get(acc.id, 0):
            problems.append(f"account {acc.id}: cached posted {acc.posted} != journal {entry_sums.get(acc.id, 0)}")
        if acc.pending != pending_sums.get(acc.id, 0):
            problems.append(
                f"account {acc.id}: cached pending {acc.pending} != active holds {pending_sums.get(acc.id, 0)}"
            )
        if not acc.allow_overdraft and acc.available < 0:
            problems.append(f"account {acc.id} is overdrawn: available {acc.available}")
        if not within_limits(acc, acc.posted):
            problems.append(f"account {acc.id} holds {acc.posted}, past the ledger's limits")
    return problems
