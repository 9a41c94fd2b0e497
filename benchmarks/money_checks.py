"""What the compliance checks cost a money call: transfer_funds through a real MCP client with the new-payee
screening and the AML rules on, against the same server with them off, in interleaved rounds.

    python benchmarks/money_checks.py [--backend sqlite|postgresql|both] [--rounds 6] [--calls 40]

The checks run in the call's own transaction (services/commands.py Dispatcher.checks and .watchers), so their
cost is what they add to each call. Rounds alternate on/off (the order flips each round) so that the machine's
noise hits both alike; only the ratio means anything.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import anyio
from benchlib import bench_settings, machine_note, median, quiet_logging, table, throwaway_database, workdir
from mcp.client import Client

from mcp_payments.bootstrap import application


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
    async with application(bench_settings(db_url)) as (server, box, _), Client(server) as client:
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


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--calls", type=int, default=40)
    args = parser.parse_args()
    quiet_logging()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    print(f"machine: {machine_note()}")
    rows: list[list[object]] = []
    with workdir() as tmp:
        for backend in backends:
            async with throwaway_database(backend, "checks", tmp) as db:
                on, off = await measure(db.url, args.rounds, args.calls)
            rows.append([backend, median(off), median(on), median(on) / median(off)])
    print(table(["backend", "off ms/call (median)", "on ms/call (median)", "on/off"], rows))


if __name__ == "__main__":
    anyio.run(main)
