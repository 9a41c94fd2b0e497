"""What the compliance checks cost a money call: transfer_funds through a real MCP client with the new-payee
screening and the AML rules on, against the same server with them off, in interleaved rounds.

    python benchmarks/money_checks.py [--backend sqlite|postgresql|both] [--rounds 6] [--calls 40]

The checks run in the call's own transaction (services/commands.py Dispatcher.checks and .watchers), so their
cost is what they add to each call. Rounds alternate on/off (the order flips each round) so that the machine's
noise hits both alike; only the ratio means anything.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import anyio
from mcp.client import Client

from mcp_payments.bootstrap import application
from mcp_payments.config import Settings

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# Explicit keys, so that a benchmark never creates secrets.json in the real user data directory.
BENCH_SECRETS: dict[str, Any] = {"secret_key": "bench-fingerprint-key", "webhook_secrets": ("whsec_bench",)}


async def _round(client: Client, calls: int, source: str, target: str) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        result = await client.call_tool(
            "transfer_funds",
            {"source_wallet_id": source, "destination_wallet_id": target, "currency": "USD", "amount": "1.00"},
        )
        assert not result.is_error, result.content
    return (time.perf_counter() - started) / calls * 1000


async def _structured(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def measure(db_url: str, rounds: int, calls: int) -> tuple[list[float], list[float]]:
    settings = Settings(db_url=db_url, **BENCH_SECRETS)
    async with application(settings) as (server, box, _), Client(server) as client:
        source = (await _structured(client, "create_wallet", {"currency": "USD", "name": "source"}))["wallet"]["id"]
        target = (await _structured(client, "create_wallet", {"currency": "USD", "name": "target"}))["wallet"]["id"]
        await _structured(client, "fund_wallet", {"wallet_id": source, "amount": "100000.00", "currency": "USD"})
        checks, watchers = list(box.dispatcher.checks), list(box.dispatcher.watchers)
        on: list[float] = []
        off: list[float] = []
        await _round(client, calls, source, target)  # warm-up (and the payee becomes known)
        for n in range(rounds):
            for enabled in (True, False) if n % 2 == 0 else (False, True):
                box.dispatcher.checks[:] = checks if enabled else []
                box.dispatcher.watchers[:] = watchers if enabled else []
                (on if enabled else off).append(await _round(client, calls, source, target))
    return on, off


async def _pg_database() -> tuple[str, str]:
    import asyncpg

    name = f"bench_checks_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return name, f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def _drop(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--calls", type=int, default=40)
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    print("backend    | off ms/call (median) | on ms/call (median) | on/off")
    for backend in backends:
        with tempfile.TemporaryDirectory() as tmp:
            name = ""
            if backend == "sqlite":
                url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            else:
                name, url = await _pg_database()
            try:
                on, off = await measure(url, args.rounds, args.calls)
            finally:
                if name:
                    await _drop(name)
        on_ms, off_ms = statistics.median(on), statistics.median(off)
        print(f"{backend:10} | {off_ms:20.2f} | {on_ms:19.2f} | {on_ms / off_ms:6.2f}")


if __name__ == "__main__":
    anyio.run(main)
