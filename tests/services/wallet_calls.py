"""Wallet calls made the way the tools make them, and ledger checks made straight against the database.

Each mutating call goes through CallRunner.mutate with the tool's name and arguments, so it gets the
real idempotency and audit treatment on the real unit of work. The service and invariant tests share
these so that each test reads as the behaviour it checks.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db import tables
from mcp_payments.adapters.db.engine import Database
from mcp_payments.adapters.db.uow import SqlUnitOfWorkFactory
from mcp_payments.domain.ledger import Account, Hold
from mcp_payments.domain.money import AmountInput, parse_amount
from mcp_payments.services.commands import Command, Done, Outcome
from mcp_payments.services.container import Services
from mcp_payments.services.monitoring import IntegrityReport, MonitoringService
from mcp_payments.services.ports import UnitOfWork
from mcp_payments.services.postings import Movement
from mcp_payments.services.wallets import WalletService

PRINCIPAL = "agent"
# Pass as `key` for a fresh idempotency key per call; None sends no key, so the server derives one.
FRESH = "<fresh>"
COUNTED_TABLES = ("accounts", "journal_transactions", "entries", "holds", "idempotency_keys", "audit_log")


class Result(BaseModel):
    """What these calls return: the ids they touched and each wallet's balances after."""

    transaction_id: str | None = None
    wallet_ids: list[str] = Field(default_factory=list)
    hold_id: str | None = None
    hold_status: str | None = None
    posted: dict[str, int] = Field(default_factory=dict)
    pending: dict[str, int] = Field(default_factory=dict)

    def entity_ids(self) -> tuple[str, ...]:
        return tuple(i for i in (self.transaction_id, self.hold_id, *self.wallet_ids) if i is not None)

    @classmethod
    def of_movement(cls, m: Movement) -> Result:
        wallets = [a for a in m.accounts.values() if a.id.startswith("wal_")]
        return cls(
            transaction_id=m.transaction.id,
            wallet_ids=sorted(a.id for a in wallets),
            posted={a.id: a.posted for a in wallets},
            pending={a.id: a.pending for a in wallets},
        )

    @classmethod
    def of_hold(cls, hold: Hold, movement: Movement | None = None) -> Result:
        base = cls.of_movement(movement) if movement is not None else cls()
        return base.model_copy(
            update={"hold_id": hold.id, "hold_status": hold.status.value, "wallet_ids": [hold.account_id]}
        )


Operation = Callable[[UnitOfWork], Awaitable[BaseModel]]


async def call(
    services: Services,
    tool: str,
    arguments: dict[str, Any],
    operation: Operation,
    *,
    key: str | None = FRESH,
    principal: str = PRINCIPAL,
) -> Outcome:
    """One mutating call, as the tool pipeline runs it."""
    idempotency_key = f"test-{uuid.uuid4().hex}" if key == FRESH else key

    async def done(uow: UnitOfWork) -> Done:
        result = await operation(uow)
        entities = result.entity_ids() if isinstance(result, Result) else ()
        return Done(result.model_dump(mode="json"), entities, result)

    return await services.calls.mutate(Command(tool, principal, arguments, idempotency_key), done)


async def create_wallet(services: Services, currency: str = "USD", *, key: str | None = FRESH) -> str:
    async def op(uow: UnitOfWork) -> Result:
        account = await services.get(WalletService).create_wallet(uow, currency, None)
        return Result(wallet_ids=[account.id], posted={account.id: 0}, pending={account.id: 0})

    outcome = await call(services, "create_wallet", {"currency": currency}, op, key=key)
    (wallet_id,) = outcome.response["wallet_ids"]
    return str(wallet_id)


async def fund(
    services: Services, wallet_id: str, amount: str, currency: str = "USD", *, key: str | None = FRESH
) -> Outcome:
    money = parse_amount(amount, None, currency)

    async def op(uow: UnitOfWork) -> Result:
        return Result.of_movement(await services.get(WalletService).fund(uow, wallet_id, money, None))

    arguments = {"wallet_id": wallet_id, "currency": currency, "amount": amount}
    return await call(services, "fund_wallet", arguments, op, key=key)


async def funded_wallet(services: Services, amount: str, currency: str = "USD") -> str:
    wallet_id = await create_wallet(services, currency)
    await fund(services, wallet_id, amount, currency)
    return wallet_id


async def withdraw(
    services: Services,
    wallet_id: str,
    amount: str,
    currency: str = "USD",
    *,
    key: str | None = FRESH,
    principal: str = PRINCIPAL,
) -> Outcome:
    money = parse_amount(amount, None, currency)

    async def op(uow: UnitOfWork) -> Result:
        return Result.of_movement(await services.get(WalletService).withdraw(uow, wallet_id, money, None))

    arguments = {"wallet_id": wallet_id, "currency": currency, "amount": amount}
    return await call(services, "withdraw_from_wallet", arguments, op, key=key, principal=principal)


async def transfer(
    services: Services, source: str, target: str, amount: str, currency: str = "USD", *, key: str | None = FRESH
) -> Outcome:
    money = parse_amount(amount, None, currency)

    async def op(uow: UnitOfWork) -> Result:
        return Result.of_movement(await services.get(WalletService).transfer(uow, source, target, money, None))

    arguments = {
        "source_wallet_id": source,
        "destination_wallet_id": target,
        "currency": currency,
        "amount": amount,
    }
    return await call(services, "transfer_funds", arguments, op, key=key)


async def hold(
    services: Services,
    wallet_id: str,
    amount: str,
    currency: str = "USD",
    *,
    expires_in: timedelta | None = None,
    key: str | None = FRESH,
) -> str:
    money = parse_amount(amount, None, currency)

    async def op(uow: UnitOfWork) -> Result:
        placed, _ = await services.get(WalletService).hold(uow, wallet_id, money, expires_in, None)
        return Result.of_hold(placed)

    arguments: dict[str, Any] = {"wallet_id": wallet_id, "currency": currency, "amount": amount}
    if expires_in is not None:
        arguments["expires_in_seconds"] = int(expires_in.total_seconds())
    outcome = await call(services, "hold_funds", arguments, op, key=key)
    return str(outcome.response["hold_id"])


async def capture(
    services: Services,
    hold_id: str,
    amount: str | None = None,
    destination: str | None = None,
    *,
    key: str | None = FRESH,
) -> Outcome:
    partial = AmountInput(amount, None) if amount is not None else None

    async def op(uow: UnitOfWork) -> Result:
        captured, movement = await services.get(WalletService).capture_hold(uow, hold_id, partial, destination, None)
        return Result.of_hold(captured, movement)

    arguments = {"hold_id": hold_id, "amount": amount, "destination_wallet_id": destination}
    arguments = {k: v for k, v in arguments.items() if v is not None}
    return await call(services, "capture_hold", arguments, op, key=key)


async def release(services: Services, hold_id: str, *, key: str | None = FRESH) -> Outcome:
    async def op(uow: UnitOfWork) -> Result:
        return Result.of_hold(await services.get(WalletService).release_hold(uow, hold_id))

    return await call(services, "release_hold", {"hold_id": hold_id}, op, key=key)


async def wallet(services: Services, wallet_id: str) -> Account:
    return await services.calls.read(lambda uow: services.get(WalletService).get_wallet(uow, wallet_id))


async def stored_hold(services: Services, hold_id: str) -> Hold:
    found = await services.calls.read(lambda uow: uow.ledger.get_hold(hold_id))
    assert found is not None, hold_id
    return found


async def integrity(services: Services) -> IntegrityReport:
    return await services.calls.read(services.get(MonitoringService).check_ledger)


def database(services: Services) -> Database:
    factory = services.uow
    assert isinstance(factory, SqlUnitOfWorkFactory)
    return factory.db


@asynccontextmanager
async def raw_connection(services: Services) -> AsyncIterator[AsyncConnection]:
    """A writer connection outside any unit of work, for tests that go behind the services' back."""
    db = database(services)
    async with AsyncExitStack() as stack:
        if db.write_lock is not None:
            await stack.enter_async_context(db.write_lock)
        yield await stack.enter_async_context(db.writer.connect())


async def row_counts(services: Services) -> dict[str, int]:
    async with database(services).reader.connect() as conn:
        return {
            name: int((await conn.execute(select(func.count()).select_from(tables.metadata.tables[name]))).scalar_one())
            for name in COUNTED_TABLES
        }


async def balances(services: Services) -> dict[str, tuple[int, int]]:
    """(posted, pending) of every account, straight from the accounts table."""
    accounts = tables.accounts
    async with database(services).reader.connect() as conn:
        rows = await conn.execute(select(accounts.c.id, accounts.c.posted, accounts.c.pending))
        return {r.id: (int(r.posted), int(r.pending)) for r in rows}


async def assert_ledger_sound(services: Services) -> None:
    """DESIGN §7 invariants 1 and 2, checked twice: by check_ledger and by recomputing from the raw rows."""
    report = await integrity(services)
    assert report.ok, report.problems
    assert all(total == 0 for total in report.totals_by_currency.values()), report.totals_by_currency

    entries, holds, accounts = tables.entries, tables.holds, tables.accounts
    async with database(services).reader.connect() as conn:
        per_txn = (
            await conn.execute(
                select(entries.c.transaction_id, entries.c.currency, func.sum(entries.c.amount))
                .group_by(entries.c.transaction_id, entries.c.currency)
                .having(func.sum(entries.c.amount) != 0)
            )
        ).all()
        sums = {
            r[0]: int(r[1])
            for r in await conn.execute(
                select(entries.c.account_id, func.sum(entries.c.amount)).group_by(entries.c.account_id)
            )
        }
        held = {
            r[0]: int(r[1])
            for r in await conn.execute(
                select(holds.c.account_id, func.sum(holds.c.amount))
                .where(holds.c.status == "active")
                .group_by(holds.c.account_id)
            )
        }
        rows = (
            await conn.execute(select(accounts.c.id, accounts.c.posted, accounts.c.pending, accounts.c.allow_overdraft))
        ).all()
    assert per_txn == [], f"transactions that do not sum to zero: {per_txn}"
    for row in rows:
        assert row.posted == sums.get(row.id, 0), f"{row.id}: cached {row.posted} != journal {sums.get(row.id, 0)}"
        assert row.pending == held.get(row.id, 0), f"{row.id}: pending {row.pending} != held {held.get(row.id, 0)}"
        if not row.allow_overdraft:
            assert row.posted - row.pending >= 0, f"{row.id} is overdrawn"
