"""Which resources a committed change touched, and the port that announces them (live updates).

A write names what it changed: its audit record's entity ids and the journal transactions it posted. From those
come the resources a subscriber may follow: each wallet whose balances moved (its entries, or a hold on it),
each payment, the approval queue when an approval was held or decided, and the dashboard when any of them
changed. CallRunner (services/calls.py) hands them to the ChangeFeed inside the write transaction and again once
it committed: on PostgreSQL the feed NOTIFYs inside the transaction, so a rolled-back change is never announced
and every replica hears a committed one; on SQLite it publishes in-process after the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from mcp_payments.domain.ledger import JournalTransaction
from mcp_payments.services.ports import Repo, UnitOfWork

SCHEME = "payments://"
APPROVALS = "payments://approvals/pending"
DASHBOARD = "payments://dashboard"


def wallet_uri(wallet_id: str) -> str:
    return f"payments://wallets/{wallet_id}"


def payment_uri(payment_id: str) -> str:
    return f"payments://payments/{payment_id}"


def changed_uris(entities: Iterable[str], posted: Iterable[JournalTransaction]) -> list[str]:
    """The resources a change to `entities` that posted `posted` makes stale, sorted, the dashboard last."""
    ids = set(entities)
    for txn in posted:
        ids.update(entry.account_id for entry in txn.entries)
        if txn.reference is not None:
            ids.add(txn.reference)
    uris = {wallet_uri(i) for i in ids if i.startswith("wal_")} | {payment_uri(i) for i in ids if i.startswith("pay_")}
    if any(i.startswith("apr_") for i in ids):
        uris.add(APPROVALS)
    return [*sorted(uris), DASHBOARD] if uris else []


class ChangeFeed(Protocol):
    async def announce(self, uow: UnitOfWork, uris: Sequence[str]) -> None:
        """Inside the write transaction, before its commit (PostgreSQL: NOTIFY, delivered only on commit)."""
        ...

    async def committed(self, uris: Sequence[str]) -> None:
        """After the commit (SQLite: tell this process's subscribers)."""
        ...


class NoticesRepository(Protocol):
    async def notify(self, uris: Sequence[str]) -> None:
        """Tell every process that LISTENs that `uris` changed, when (and only if) this transaction commits."""
        ...


NOTICES: Repo[NoticesRepository] = Repo("notices")


class NotifyFeed:
    """PostgreSQL: NOTIFY inside the write transaction; every replica (this one too) hears it on commit."""

    async def announce(self, uow: UnitOfWork, uris: Sequence[str]) -> None:
        await uow.repo(NOTICES).notify(uris)

    async def committed(self, uris: Sequence[str]) -> None:
        return None


class LocalFeed:
    """SQLite: one process; its subscribers are told after the commit."""

    def __init__(self, deliver: Callable[[Sequence[str]], None]) -> None:
        self.deliver = deliver

    async def announce(self, uow: UnitOfWork, uris: Sequence[str]) -> None:
        return None

    async def committed(self, uris: Sequence[str]) -> None:
        self.deliver(uris)
