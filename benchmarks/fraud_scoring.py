"""What fraud scoring costs create_payment: the same call with the score and with it switched off, in one run.

    python benchmarks/fraud_scoring.py [--backend sqlite|postgresql|both] [--rounds 10] [--calls 30]

Both variants call create_payment through the in-memory MCP client on one server, in interleaved rounds (the
order flips every round), so the machine's noise hits both alike. "unscored" replaces FraudScreen's review,
record and read-back with no-ops for its rounds (here only: the server has no such switch); "scored" is the
server as it ships: two aggregate queries before the payment (the card's activity in the window, the customer's
history), one insert of the assessment, and one read of it back into the result.

Every call pays 10.00 USD with pm_card_visa for one customer who already has a history, so every payment lands on
one card fingerprint: the worst case for the card-activity count, which grows with the payments in the window.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from typing import Any

from benchlib import bench_settings, machine_note, quiet_logging, table, throwaway_database, workdir
from mcp.client import Client

from mcp_payments import runtime
from mcp_payments.bootstrap import application
from mcp_payments.services.risk import FraudScreen


async def bench_backend(backend: str, args: argparse.Namespace, where: Any) -> list[list[object]]:
    async with (
        throwaway_database(backend, "fraud", where) as made,
        application(bench_settings(made.url)) as (server, _box, services),
        Client(server) as client,
    ):
        screen = services.get(FraudScreen)
        scored = {name: getattr(screen, name) for name in ("review", "record", "of_payment")}

        async def nothing(*_args: Any, **_kwargs: Any) -> None:
            return None

        def switch(on: bool) -> None:
            for name, method in scored.items():
                setattr(screen, name, method if on else nothing)

        customer = (
            await client.call_tool("create_customer", {"name": "Bench Mark", "country": "US"})
        ).structured_content
        assert customer is not None
        customer_id = customer["customer"]["id"]
        keys = itertools.count()

        async def pay(n: int, keep: list[float] | None) -> None:
            for _ in range(n):
                arguments = {
                    "currency": "USD",
                    "amount": "10.00",
                    "payment_method": "pm_card_visa",
                    "customer_id": customer_id,
                    "idempotency_key": f"bench-payment-{next(keys):08d}",
                }
                started = time.perf_counter()
                result = await client.call_tool("create_payment", arguments)
                elapsed = time.perf_counter() - started
                if result.is_error:
                    raise RuntimeError(f"create_payment failed: {result.content}")
                if keep is not None:
                    keep.append(elapsed)

        latencies: dict[str, list[float]] = {"unscored": [], "scored": []}
        for on in (False, True):  # warm-up of both paths
            switch(on)
            await pay(args.calls, None)
        for round_no in range(args.rounds):
            for name in ("unscored", "scored") if round_no % 2 == 0 else ("scored", "unscored"):
                switch(name == "scored")
                await pay(args.calls, latencies[name])
        switch(True)

    base = latencies["unscored"]
    rows: list[list[object]] = []
    for name, values in latencies.items():
        rows.append(
            [
                backend,
                name,
                len(values),
                f"{statistics.fmean(values) * 1e6:.0f}",
                f"{statistics.median(values) * 1e6:.0f}",
                f"{statistics.fmean(values) / statistics.fmean(base):.3f}",
                f"{statistics.median(values) / statistics.median(base):.3f}",
            ]
        )
    return rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds (default 10)")
    parser.add_argument("--calls", type=int, default=30, help="calls of each variant per round (default 30)")
    return parser.parse_args(argv)


async def main(args: argparse.Namespace) -> None:
    quiet_logging()
    before = machine_note()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    rows: list[list[object]] = []
    with workdir() as where:
        for backend in backends:
            rows += await bench_backend(backend, args, where)
    print(f"\ncreate_payment latency through the in-memory MCP client, µs; {args.rounds} rounds x {args.calls}")
    print(f"machine: at start {before}; at end {machine_note()}")
    print(table(["backend", "variant", "calls", "mean", "p50", "mean / unscored", "p50 / unscored"], rows))


if __name__ == "__main__":
    runtime.run(main, parse_args())
