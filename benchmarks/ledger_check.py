"""check_ledger_integrity, verify_audit_chain and list_payments' created_at range over a demo history, both backends.

    python benchmarks/ledger_check.py [--backend sqlite|postgresql|both] [--sizes 10000,100000] [--rounds 3]

For each size a throwaway database gets a demo history (`mcp-payments demo-data`: seed 1, 12 months), then,
through a real MCP client on the in-process server, the median of:

- check_ledger_integrity (every ledger invariant, and the journal bound to the audit log both ways);
- verify_audit_chain with full=true (the chain from genesis), and without (from the last verified checkpoint:
  a few new records);
- list_payments over the last 30 days of created_at, first page and the page five cursors in.

The last table prints each size's median against the smallest size's.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchlib import bench_settings, by_size_table, machine_note, quiet_logging, throwaway_database, workdir
from mcp.client import Client

from mcp_payments import runtime
from mcp_payments.bootstrap import application, load_secrets
from mcp_payments.demo_cli import write_history
from mcp_payments.services.demo.spec import DemoSpec

END = datetime(2026, 12, 1, tzinfo=UTC)
MONTH = {"created_from": (END - timedelta(days=30)).isoformat(), "created_to": END.isoformat()}


async def measure(url: str, size: int, rounds: int) -> tuple[dict[str, float], float]:
    settings = bench_settings(url)
    key, _ = load_secrets(settings)
    out: dict[str, float] = {}
    async with application(settings) as (server, _box, services):
        written = await write_history(services.uow.db.admin, DemoSpec(size, 1, 12, END), key, append=False)  # type: ignore[attr-defined]
        async with Client(server) as client:

            async def call(tool: str, **arguments: Any) -> dict[str, Any]:
                result = await client.call_tool(tool, arguments)
                assert not result.is_error, (tool, result.content)
                return dict(result.structured_content or {})

            tools = {t.name: t for t in (await client.list_tools()).tools}
            # Before the checkpoint existed every verification was a full one, and took no `full`.
            full = {"full": True} if "full" in tools["verify_audit_chain"].input_schema.get("properties", {}) else {}
            report = await call("check_ledger_integrity")
            assert report["ok"], report["problems"][:5]
            out["check_ledger_integrity"] = await median_ms(lambda: call("check_ledger_integrity"), rounds)
            out["verify_audit_chain full=true"] = await median_ms(lambda: call("verify_audit_chain", **full), rounds)
            out["verify_audit_chain (from checkpoint)"] = await median_ms(lambda: call("verify_audit_chain"), rounds)
            out["list_payments last 30 days, page 1"] = await median_ms(
                lambda: call("list_payments", limit=20, **MONTH), rounds * 5
            )
            cursor = None
            for _ in range(5):
                cursor = (await call("list_payments", limit=20, **MONTH, **({"cursor": cursor} if cursor else {})))[
                    "next_cursor"
                ]
            out["list_payments last 30 days, page 6"] = await median_ms(
                lambda: call("list_payments", limit=20, cursor=cursor, **MONTH), rounds * 5
            )
    return out, written.seconds


async def median_ms(call: Callable[[], Awaitable[Any]], rounds: int) -> float:
    await call()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def main(backends: list[str], sizes: list[int], rounds: int) -> None:
    quiet_logging()
    with workdir() as work:
        for backend in backends:
            by_size: dict[int, dict[str, float]] = {}
            for size in sizes:
                async with throwaway_database(backend, f"l{size}", Path(work)) as made:
                    by_size[size], seconds = await measure(made.url, size, rounds)
                print(f"{backend}, {size:,} payments generated and written in {seconds:.1f} s")
            print(f"\n{backend}; {machine_note()}")
            print(by_size_table("call", by_size, sizes))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated payment counts, smallest first")
    parser.add_argument("--rounds", type=int, default=3)
    a = parser.parse_args()
    chosen = ["sqlite", "postgresql"] if a.backend == "both" else [a.backend]
    runtime.run(main, chosen, [int(s.replace("_", "")) for s in a.sizes.split(",")], a.rounds)
