"""Due items made in the past for worker processes to find, and what the database says became of them."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mcp.client import Client
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db.engine import open_database
from mcp_payments.bootstrap import application
from mcp_payments.config import Settings
from tests.conftest import TEST_SECRETS
from tests.helpers import funded_wallet, ok


class PastClock:
    """Ten days ago: what is made on it is long due by the time real processes look at it."""

    def now(self) -> datetime:
        return datetime.now(UTC) - timedelta(days=10)


@dataclass
class DueItems:
    holds: list[str] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)
    disputed: list[str] = field(default_factory=list)  # payments whose dispute event waits in the outbox

    @property
    def total(self) -> int:
        return len(self.holds) + len(self.authorizations) + len(self.disputed)


def settings(db_url: str) -> Settings:
    return Settings(db_url=db_url, **TEST_SECRETS)


async def make_due_items(db_url: str, holds: int, authorizations: int, disputes: int) -> DueItems:
    """Expired holds, expired authorizations and queued dispute events, made through the tools ten days ago."""
    items = DueItems()
    # (Distinct calls: the same arguments again within a minute would be a retry of the first.)
    async with application(settings(db_url), clock=PastClock()) as (server, _, _), Client(server) as client:
        wallet = await funded_wallet(client, "100000.00")
        for n in range(holds):
            hold = {"wallet_id": wallet, "currency": "USD", "amount": "1.00", "idempotency_key": f"due-hold-{n:04d}"}
            placed = await ok(client, "hold_funds", **hold)
            items.holds.append(placed["hold"]["id"])
        for n in range(authorizations):
            paid = await ok(
                client, "create_payment", currency="USD", amount=f"{n + 1}.00", payment_method="pm_card_visa",
                capture_method="manual",
            )  # fmt: skip
            items.authorizations.append(paid["payment"]["id"])
        for n in range(disputes):
            paid = await ok(
                client, "create_payment", currency="USD", amount=f"{n + 1}.00", payment_method="pm_card_createDispute"
            )
            items.disputed.append(paid["payment"]["id"])
    return items


@asynccontextmanager
async def reading(db_url: str) -> AsyncIterator[AsyncConnection]:
    db = open_database(db_url)
    try:
        async with db.reader.connect() as conn:
            yield conn
    finally:
        await db.dispose()


async def audited(conn: AsyncConnection, tool: str) -> Counter[str]:
    """How many audit records of `tool` name each entity."""
    rows = await conn.execute(text("SELECT record FROM audit_log WHERE tool = :tool"), {"tool": tool})
    return Counter(entity for (record,) in rows for entity in json.loads(record)["entity_ids"])


async def scalars(conn: AsyncConnection, sql: str, **params: Any) -> list[Any]:
    return list((await conn.execute(text(sql), params)).scalars())


@dataclass
class Outcome:
    """What became of each item, read from the database."""

    expired_holds: set[str]
    canceled_authorizations: set[str]
    disputed: set[str]
    still_queued: set[str]  # payments whose dispute event is still in the outbox
    audited: dict[str, Counter[str]]
    dispute_postings: Counter[str]  # dispute transactions per payment
    failures: int


async def outcome(conn: AsyncConnection) -> Outcome:
    queued = await scalars(conn, "SELECT body FROM provider_outbox")
    return Outcome(
        set(await scalars(conn, "SELECT id FROM holds WHERE status = 'expired'")),
        set(await scalars(conn, "SELECT id FROM payments WHERE cancellation_reason = 'authorization_expired'")),
        set(await scalars(conn, "SELECT id FROM payments WHERE disputed")),
        {json.loads(body)["data"]["payment_id"] for body in queued},
        {tool: await audited(conn, tool) for tool in ("expire_holds", "expire_payments", "provider_event")},
        Counter(await scalars(conn, "SELECT reference FROM journal_transactions WHERE kind = 'dispute'")),
        len(await scalars(conn, "SELECT item_id FROM job_failures")),
    )


def assert_each_done_once_or_still_due(items: DueItems, seen: Outcome, *, everything_done: bool) -> int:
    """Every item is either done exactly once (its change, one audit record, one posting where it posts) or
    untouched and still due. Returns how many are done."""
    assert seen.expired_holds <= set(items.holds)
    holds = Counter({e: n for e, n in seen.audited["expire_holds"].items() if e.startswith("hld_")})
    assert holds == Counter(seen.expired_holds), "one audit record per expired hold (which names its wallet too)"
    assert seen.canceled_authorizations <= set(items.authorizations)
    assert seen.audited["expire_payments"] == Counter(seen.canceled_authorizations)
    assert seen.disputed <= set(items.disputed)
    assert seen.disputed.isdisjoint(seen.still_queued), "a delivered event left the outbox with it"
    assert seen.disputed | seen.still_queued == set(items.disputed), "no event lost"
    assert seen.dispute_postings == Counter(seen.disputed), "one dispute posting per disputed payment"
    assert sum(seen.audited["provider_event"].values()) == len(seen.disputed), "one audit record per delivery"
    assert seen.failures == 0
    done = len(seen.expired_holds) + len(seen.canceled_authorizations) + len(seen.disputed)
    if everything_done:
        assert done == items.total, "nothing is left due"
    return done
