"""Two `serve --transport http` processes on one PostgreSQL (DESIGN §8): correctness comes from the database,
never from process memory, so crossing transfers sent through both at once keep every invariant."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import TEST_SECRETS
from tests.e2e.processes import free_port, full_env, serve_args, stop, wait_until_listening
from tests.helpers import funded_wallet, ok
from tests.payments.agent import body_of

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

TRANSFERS_EACH_WAY = 40
# Asymmetric on purpose: a -> b sends far more than a holds plus all it can receive from b, so some of its
# transfers must fail with insufficient_funds, whatever the interleaving.
A_TO_B, B_TO_A = Decimal("9.00"), Decimal("3.00")
OPENING = Decimal("100.00")


@asynccontextmanager
async def server_process(
    name: str, db_url: str, tmp_path: Path, extra_env: dict[str, str] | None = None
) -> AsyncIterator[str]:
    """One `serve --transport http` process with the deployment's shared secrets; yields its /mcp URL and is
    stopped (terminated, killed if need be, always reaped) afterwards."""
    data = tmp_path / name  # its own data dir: the secrets come from the environment, like any replica's
    port = free_port()
    log = tmp_path / f"{name}.log"
    env = {
        **full_env(data),
        "MCP_PAYMENTS_SECRET_KEY": TEST_SECRETS["secret_key"],
        "MCP_PAYMENTS_WEBHOOK_SECRETS": ",".join(TEST_SECRETS["webhook_secrets"]),
        **(extra_env or {}),
    }
    with log.open("wb") as out:
        process = await anyio.open_process(
            [sys.executable, *serve_args(db_url, "--transport", "http", "--port", str(port), "--no-auth")],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env=env,
        )
        try:
            await wait_until_listening(process, port, log)
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            await stop(process)
    text = log.read_text()
    assert "tool_crashed" not in text, text
    assert "internal_error" not in text, text


async def transfers(
    client: Client, source: str, destination: str, amount: Decimal, direction: str
) -> list[dict[str, Any]]:
    """TRANSFERS_EACH_WAY transfers at once through one server; each result or error body, in any order."""
    results: list[dict[str, Any]] = []

    async def transfer(i: int) -> None:
        result = await client.call_tool(
            "transfer_funds",
            {
                "source_wallet_id": source,
                "destination_wallet_id": destination,
                "currency": "USD",
                "amount": str(amount),
                "idempotency_key": f"two-processes-{direction}-{i}",  # distinct calls, not retries of one
            },
        )
        results.append(body_of(result))

    async with anyio.create_task_group() as tg:
        for i in range(TRANSFERS_EACH_WAY):
            tg.start_soon(transfer, i)
    return results


def succeeded(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in results if "transaction" in r]


async def sealed_chain(client: Client) -> dict[str, Any]:
    """verify_audit_chain from genesis, once both servers' sealers (each a job every 0.5 s, one head) sealed it all."""
    with anyio.fail_after(30):
        while True:
            chain = await ok(client, "verify_audit_chain", full=True)
            if not chain["unsealed_records"]:
                return chain
            await anyio.sleep(0.1)  # the servers' own sealers are what this test is about: no sealing from here


async def audit_records(client: Client, **query: str) -> list[dict[str, Any]]:
    """The whole audit log (every page), newest first."""
    records: list[dict[str, Any]] = []
    cursor: dict[str, str] = {}
    while True:
        result = await client.call_tool("get_audit_log", {"limit": 100, **query, **cursor})
        assert not result.is_error, result.content
        page: dict[str, Any] = dict(result.structured_content or {})
        records += page["records"]
        if page["next_cursor"] is None:
            return records
        cursor = {"cursor": page["next_cursor"]}


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param(
            "sqlite",
            marks=pytest.mark.skip(
                reason="DESIGN §8: several server processes share PostgreSQL; SQLite is one process"
            ),
        ),
        "postgresql",
    ],
)
async def test_crossing_transfers_through_two_server_processes_on_one_database_keep_every_invariant(
    backend: str, db_url: str, tmp_path: Path
) -> None:
    async with AsyncExitStack() as processes:
        url_a = await processes.enter_async_context(server_process("a", db_url, tmp_path))
        url_b = await processes.enter_async_context(server_process("b", db_url, tmp_path))
        with anyio.fail_after(180):
            async with (
                Client(streamable_http_client(url_a)) as client_a,
                Client(streamable_http_client(url_b)) as client_b,
            ):
                await exercise(client_a, client_b)


async def exercise(client_a: Client, client_b: Client) -> None:
    """Fund two wallets through A, cross transfers through A and B at once, then check through both."""
    for client in (client_a, client_b):
        assert (await ok(client, "get_service_health"))["database_backend"] == "postgresql"
    a = await funded_wallet(client_a, str(OPENING))
    b = await funded_wallet(client_a, str(OPENING))
    assert (await ok(client_b, "get_wallet", wallet_id=a))["posted"]["amount"] == "100.00", "B sees A's work"
    results: dict[str, list[dict[str, Any]]] = {}

    async def run(direction: str, client: Client, source: str, destination: str, amount: Decimal) -> None:
        results[direction] = await transfers(client, source, destination, amount, direction)

    async with anyio.create_task_group() as tg:
        tg.start_soon(run, "a->b", client_a, a, b, A_TO_B)
        tg.start_soon(run, "b->a", client_b, b, a, B_TO_A)

    a_to_b, b_to_a = succeeded(results["a->b"]), succeeded(results["b->a"])
    failures = [r["code"] for r in results["a->b"] + results["b->a"] if "transaction" not in r]
    assert set(failures) <= {"insufficient_funds"}, failures
    assert len(a_to_b) < TRANSFERS_EACH_WAY, "a cannot send more than it has and receives"
    assert a_to_b, "both processes moved money"
    assert b_to_a
    mutating_calls = 2 + 2 + len(a_to_b) + len(b_to_a)  # create_wallet, fund_wallet, each successful transfer
    transferred = {r["transaction"]["id"] for r in a_to_b + b_to_a}

    for client in (client_a, client_b):
        report = await ok(client, "check_ledger_integrity")
        assert report["ok"], report["problems"]
        balances = {w: Decimal((await ok(client, "get_wallet", wallet_id=w))["posted"]["amount"]) for w in (a, b)}
        assert sum(balances.values()) == 2 * OPENING, "no money made or lost"
        assert min(balances.values()) >= 0
        assert balances[a] == OPENING - len(a_to_b) * A_TO_B + len(b_to_a) * B_TO_A, "no lost update"

        chain = await sealed_chain(client)
        assert chain["valid"], chain
        assert chain["first_broken_seq"] is None
        assert (chain["records_checked"], chain["head_seq"]) == (mutating_calls, mutating_calls)
        records = await audit_records(client)
        assert sorted(r["seq"] for r in records) == list(range(1, mutating_calls + 1))
        assert {r["outcome"] for r in records} == {"ok"}, "a refused transfer leaves no audit record"
        audited = [i for r in await audit_records(client, tool="transfer_funds") for i in r["entity_ids"]]
        assert sorted(i for i in audited if i.startswith("txn_")) == sorted(transferred), "one record per transfer"
