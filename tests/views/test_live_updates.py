"""Live updates in one process, both eras, both databases: a subscriber is told about each committed change to
what it follows, and never about a change that was refused (rolled back). On PostgreSQL this goes through NOTIFY
and this process's own LISTEN, the path replicas share (tests/e2e/test_live_replicas.py runs two)."""

from __future__ import annotations

from functools import partial

import anyio
import asyncpg
import pytest
from anyio.streams.memory import MemoryObjectReceiveStream
from mcp.client import Client
from mcp.shared.exceptions import MCPError
from sqlalchemy.engine import make_url

from mcp_payments.bootstrap import sweep_once
from tests.conftest import Stack
from tests.helpers import err, ok
from tests.views.following import LEGACY, MODERN, following, next_uri

pytestmark = pytest.mark.anyio


@pytest.fixture(params=[LEGACY, MODERN])
def era(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def wallet(client: Client, name: str, funds: str | None = None) -> str:
    wallet_id = str((await ok(client, "create_wallet", currency="USD", name=name))["wallet"]["id"])
    if funds is not None:
        await ok(client, "fund_wallet", wallet_id=wallet_id, currency="USD", amount=funds)
    return wallet_id


async def test_a_transfer_is_announced_for_both_wallets_and_a_refused_one_never(stack: Stack, era: str) -> None:
    async with Client(stack.server) as setup:
        source, target = await wallet(setup, "source", "10.00"), await wallet(setup, "target")
    uris = [f"payments://wallets/{source}", f"payments://wallets/{target}"]

    async with following(partial(Client, stack.server), uris, era) as (client, updates):
        refused = await err(
            client,
            "transfer_funds",
            source_wallet_id=source,
            destination_wallet_id=target,
            amount="50.00",
            currency="USD",
        )
        await ok(client, "fund_wallet", wallet_id=target, currency="USD", amount="1.00")
        # Had the refused transfer been announced, the source's URI would have come first.
        assert await next_uri(updates) == uris[1]
        await ok(
            client,
            "transfer_funds",
            source_wallet_id=source,
            destination_wallet_id=target,
            amount="4.00",
            currency="USD",
        )
        told = {await next_uri(updates), await next_uri(updates)}

    assert refused["code"] == "insufficient_funds"
    assert told == set(uris)


async def test_the_approval_queue_and_a_payment_are_announced(stack: Stack, era: str) -> None:
    async with following(partial(Client, stack.server), ["payments://dashboard"], era) as (client, updates):
        made = await ok(client, "create_payment", currency="USD", amount="20.00", payment_method="pm_card_visa")
        assert await next_uri(updates) == "payments://dashboard"
    payment = f"payments://payments/{made['payment']['id']}"
    async with following(partial(Client, stack.server), [payment], era) as (client, updates):
        await ok(client, "refund_payment", payment_id=made["payment"]["id"], amount="5.00")
        assert await next_uri(updates) == payment


async def test_only_this_servers_resources_can_be_followed(stack: Stack, era: str) -> None:
    with pytest.raises((MCPError, BaseExceptionGroup)) as raised:
        async with following(partial(Client, stack.server), ["file:///etc/passwd"], era):
            pass
    error = raised.value
    while isinstance(error, BaseExceptionGroup):  # the listen stream's task group wraps it
        [error] = error.exceptions

    assert isinstance(error, MCPError)
    assert error.error.code == -32602
    assert "payments://wallets/{wallet_id}" in error.error.message


async def test_a_hold_released_by_the_background_jobs_is_announced(clocked_stack: Stack, era: str) -> None:
    assert clocked_stack.clock is not None
    async with Client(clocked_stack.server) as setup:
        held = await wallet(setup, "held", "10.00")
        await ok(setup, "hold_funds", wallet_id=held, currency="USD", amount="4.00", expires_in_seconds=60)
    uri = f"payments://wallets/{held}"

    async with following(partial(Client, clocked_stack.server), [uri], era) as (_, updates):
        clocked_stack.clock.advance(seconds=61)
        assert await sweep_once(clocked_stack.services) >= 1
        assert await next_uri(updates) == uri


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_lost_listen_connection_is_opened_again(stack: Stack, backend: str, era: str) -> None:
    async with Client(stack.server) as setup:
        watched = await wallet(setup, "watched")
    uri = f"payments://wallets/{watched}"
    database = make_url(stack.settings.db_url).database
    admin = await asyncpg.connect(make_url(stack.settings.db_url).set(drivername="postgresql").render_as_string(False))
    listening = (
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()"
    )
    try:
        async with following(partial(Client, stack.server), [uri], era) as (client, updates):
            [old] = [row["pid"] for row in await admin.fetch(listening, database)]
            await admin.execute("SELECT pg_terminate_backend($1)", old)
            with anyio.fail_after(10):  # the server's own reconnection is what this waits for
                while True:
                    if [row["pid"] for row in await admin.fetch(listening, database)] not in ([], [old]):
                        break
                    await anyio.sleep(0.05)
            await ok(client, "fund_wallet", wallet_id=watched, currency="USD", amount="1.00")
            assert await next_uri(updates) == uri
    finally:
        await admin.close()


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_change_committed_while_listen_is_down_is_announced_once_it_is_back(
    stack: Stack, backend: str, era: str
) -> None:
    """The LISTEN connection is killed and kept from coming back (the database refuses new connections) while a
    change commits through another connection: its NOTIFY reaches nobody. Once LISTEN is back, every followed URI
    is announced."""
    async with Client(stack.server) as setup:
        watched, other = await wallet(setup, "watched"), await wallet(setup, "other")
    uri = f"payments://wallets/{watched}"
    database = make_url(stack.settings.db_url).database
    url = make_url(stack.settings.db_url).set(drivername="postgresql")
    # From another database: a database cannot refuse connections while it is the one connected to.
    admin = await asyncpg.connect(url.set(database="postgres").render_as_string(False))
    listening = "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'"

    async def listeners() -> list[int]:
        return [row["pid"] for row in await admin.fetch(listening, database)]

    try:
        async with following(partial(Client, stack.server), [uri], era) as (client, updates):
            [old] = await listeners()
            await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
            try:
                await admin.execute("SELECT pg_terminate_backend($1)", old)
                with anyio.fail_after(10):  # the killed backend leaves pg_stat_activity
                    while True:
                        if not await listeners():
                            break
                        await anyio.sleep(0.05)
                # Committed through a pooled connection of this process while nothing listens.
                await ok(client, "fund_wallet", wallet_id=watched, currency="USD", amount="1.00")
                with pytest.raises(TimeoutError):
                    await next_uri(updates, 0.5)  # unheard
                assert await listeners() == []  # still down: the announcement below is the reconnection's
            finally:
                await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
            assert await next_uri(updates, 10) == uri  # the reconnection retries once a second
            assert len(await listeners()) == 1
            # Over-announcing is allowed (an update is a hint to re-read): under load a second copy of the resync
            # was seen once. Drain them, so that what is heard next can only be the change below.
            while (repeated := await heard_within(updates, 0.5)) is not None:
                assert repeated == uri
            await ok(client, "fund_wallet", wallet_id=other, currency="USD", amount="2.00")
            await ok(client, "fund_wallet", wallet_id=watched, currency="USD", amount="2.00")
            assert await next_uri(updates) == uri  # and then heard as before
    finally:
        await admin.close()


async def heard_within(updates: MemoryObjectReceiveStream[str], seconds: float) -> str | None:
    """The next URI announced within `seconds`, or None."""
    with anyio.move_on_after(seconds):
        return await updates.receive()
    return None
