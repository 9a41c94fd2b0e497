"""What the analytics rollups' triggers (migration 0024) cost the write path: create_payment, and a manual
create_payment then capture_payment, with the triggers and without them.

    python benchmarks/rollup_writes.py [--backend sqlite|postgresql|both] [--rounds 10] [--calls 20]

Two throwaway databases per backend, migrated alike; in one the analytics_* triggers are dropped (no delta rows:
the write path as it was before 0024). One server per database, one MCP client each; rounds alternate between the
two (the order flips every round), so the machine's noise hits both alike. Medians are printed with their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

from benchlib import bench_settings, machine_note, quiet_logging, table, throwaway_database, workdir
from mcp.client import Client
from sqlalchemy import text

from mcp_payments import runtime
from mcp_payments.bootstrap import application


async def drop_triggers(services: Any) -> int:
    admin = services.uow.db.admin
    async with admin.begin() as conn:
        if conn.dialect.name == "postgresql":
            query = (
                "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE t.tgname LIKE 'analytics_%'"
            )
            found = [(r[0], r[1]) for r in await conn.execute(text(query))]
            for name, table_name in found:
                await conn.execute(text(f"DROP TRIGGER {name} ON {table_name}"))
        else:
            query = "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'analytics_%'"
            found = [(r[0], r[1]) for r in await conn.execute(text(query))]
            for name, _ in found:
                await conn.execute(text(f"DROP TRIGGER {name}"))
    return len(found)


async def bench_backend(backend: str, rounds: int, calls: int, where: Path) -> list[list[str]]:
    async with (
        throwaway_database(backend, "with", where) as with_made,
        throwaway_database(backend, "without", where) as without_made,
        application(bench_settings(with_made.url)) as (with_server, _b1, _s1),
        application(bench_settings(without_made.url)) as (without_server, _b2, without_services),
    ):
        dropped = await drop_triggers(without_services)
        assert dropped >= 10, dropped
        async with Client(with_server) as with_client, Client(without_server) as without_client:
            clients = {"with triggers": with_client, "without": without_client}
            times: dict[tuple[str, str], list[float]] = {
                (op, side): [] for op in ("create", "create+capture") for side in clients
            }

            async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
                result = await client.call_tool(tool, {**arguments, "idempotency_key": uuid.uuid4().hex})
                assert not result.is_error, (tool, result.content)
                return dict(result.structured_content or {})

            async def one_round(side: str, keep: bool) -> None:
                client = clients[side]
                for _ in range(calls):
                    started = time.perf_counter()
                    await call(client, "create_payment", currency="USD", amount="12.34", payment_method="pm_card_visa")
                    if keep:
                        times[("create", side)].append(time.perf_counter() - started)
                    started = time.perf_counter()
                    body = await call(
                        client,
                        "create_payment",
                        currency="EUR",
                        amount="20.00",
                        payment_method="pm_card_visa",
                        capture_method="manual",
                    )
                    await call(client, "capture_payment", payment_id=body["payment"]["id"])
                    if keep:
                        times[("create+capture", side)].append(time.perf_counter() - started)

            for side in clients:  # warm-up
                await one_round(side, keep=False)
            order = list(clients)
            for _ in range(rounds):
                for side in order:
                    await one_round(side, keep=True)
                order.reverse()
    rows = []
    for op in ("create", "create+capture"):
        with_ms = statistics.median(times[(op, "with triggers")]) * 1000
        without_ms = statistics.median(times[(op, "without")]) * 1000
        rows.append([backend, op, f"{without_ms:.2f}", f"{with_ms:.2f}", f"{with_ms / without_ms:.3f}"])
    return rows


async def main(backends: list[str], rounds: int, calls: int) -> None:
    quiet_logging()
    rows: list[list[str]] = []
    with workdir() as work:
        for backend in backends:
            rows += await bench_backend(backend, rounds, calls, Path(work))
    print(f"\nmedian ms per operation, {rounds} rounds x {calls} calls; {machine_note()}")
    print(table(["backend", "operation", "without triggers", "with triggers", "ratio"], rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--calls", type=int, default=20)
    a = parser.parse_args()
    chosen = ["sqlite", "postgresql"] if a.backend == "both" else [a.backend]
    runtime.run(main, chosen, a.rounds, a.calls)
