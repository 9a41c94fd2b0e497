"""The unit of work runs its transaction on the driver's connection and keeps connections open:
whatever happens inside, nothing uncommitted survives and no connection goes back dirty."""

import anyio
import asyncpg
import pytest
from sqlalchemy import insert

from mcp_payments.adapters.db.tables import journal_transactions
from mcp_payments.domain.errors import Contention
from mcp_payments.domain.money import Money
from mcp_payments.services.container import Services
from mcp_payments.services.wallets import WalletService
from tests.services.wallet_calls import create_wallet, database, funded_wallet, row_counts, wallet

pytestmark = pytest.mark.anyio


async def test_an_exception_inside_rolls_back_and_the_connection_is_reused_clean(services: Services) -> None:
    source = await funded_wallet(services, "10.00")
    target = await create_wallet(services, "USD")
    before = await row_counts(services)

    async def crash_after_posting() -> None:
        async with services.uow() as uow:
            await services.get(WalletService).transfer(uow, source, target, Money.of(300, "USD"), None)
            raise RuntimeError("the tool crashed after posting")

    with pytest.raises(RuntimeError):
        await crash_after_posting()
    assert await row_counts(services) == before
    # The next unit of work gets a connection with no transaction left open: its commit is its own.
    async with services.uow() as uow:
        await services.get(WalletService).transfer(uow, source, target, Money.of(100, "USD"), None)
        await uow.commit()
    assert (await wallet(services, source)).posted == 900
    assert (await wallet(services, target)).posted == 100


async def test_a_cancelled_unit_of_work_leaves_nothing_behind(services: Services) -> None:
    source = await funded_wallet(services, "10.00")
    target = await create_wallet(services, "USD")
    before = await row_counts(services)
    with anyio.move_on_after(0.05):
        async with services.uow() as uow:
            await services.get(WalletService).transfer(uow, source, target, Money.of(300, "USD"), None)
            await anyio.sleep(10)
    assert await row_counts(services) == before
    for _ in range(12):  # more units of work than the pool holds connections
        async with services.uow() as uow:
            await services.get(WalletService).transfer(uow, source, target, Money.of(1, "USD"), None)
            await uow.commit()
    assert (await wallet(services, target)).posted == 12


async def test_a_failed_statement_swallowed_inside_never_commits_half_a_change(
    backend: str, services: Services
) -> None:
    """PostgreSQL aborts the whole transaction at a failed statement and answers COMMIT with ROLLBACK:
    that must surface as an error, not as a success that kept nothing. SQLite rolls back the statement only."""
    source = await funded_wallet(services, "10.00")
    target = await create_wallet(services, "USD")
    async with services.uow() as uow:
        await services.get(WalletService).transfer(uow, source, target, Money.of(300, "USD"), None)
        conn = uow.ledger.conn  # type: ignore[attr-defined]  # the SQL repository's connection
        row = {"id": "txn_duplicate", "kind": "test", "memo": None, "created_at": services.clock.now()}
        await conn.execute(insert(journal_transactions).values(row))
        with pytest.raises(Exception):  # noqa: B017, PT011  # a duplicate key, in whatever wrapping
            await conn.execute(insert(journal_transactions).values(row))
        if backend == "postgresql":
            with pytest.raises(Contention):
                await uow.commit()
        else:
            await uow.commit()
    expected = 0 if backend == "postgresql" else 300
    assert (await wallet(services, target)).posted == expected


async def test_connections_the_server_dropped_are_replaced(backend: str, services: Services) -> None:
    if backend != "postgresql":
        pytest.skip("only a database server can drop a connection")
    source = await funded_wallet(services, "10.00")
    url = database(services).url.replace("postgresql+asyncpg", "postgresql")
    admin = await asyncpg.connect(url)
    try:
        # Every pooled connection of this database goes (a server restart, a failover).
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    await anyio.sleep(0.2)  # the event loop sees the sockets close
    assert (await wallet(services, source)).posted == 1_000
