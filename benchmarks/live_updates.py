"""What live updates cost a transfer: transfer_funds through a real MCP client, with announcements off, on with
nobody following, and on with a client following both wallets.

    python benchmarks/live_updates.py [--backend sqlite|postgresql|both] [--rounds 20] [--calls 30]

In each round the three conditions run one after the other (the order rotates every round), `--calls` transfers
each, so the machine's noise hits all three alike; medians of per-call latency are compared with "off".

- off: CallRunner.feed is None: no resource is worked out, nothing is announced.
- on, nobody following: the deployment's feed (PostgreSQL: a NOTIFY sent with the COMMIT, no round trip of its
  own; SQLite: the changed URIs handed to the bus after the commit).
- on, one follower: a second client (2025-11-25, resources/subscribe) follows both wallets; every transfer is
  delivered to it (on PostgreSQL through this process's LISTEN connection), and it drains its notifications.

The app's real logging configuration stays on (JSON lines), writing to /dev/null.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

import anyio
from benchlib import bench_settings, machine_note, quiet_logging, table, throwaway_database, workdir
from mcp.client import Client
from mcp.types import ResourceUpdatedNotification

from mcp_payments.bootstrap import application
from mcp_payments.domain.money import Money
from mcp_payments.services.wallets import WalletService

CONDITIONS = ("off", "on, nobody following", "on, one follower")


async def bench_backend(backend: str, args: argparse.Namespace, where: Path) -> list[list[object]]:
    async with (
        throwaway_database(backend, "live", where) as made,
        application(bench_settings(made.url)) as (server, _, services),
    ):
        wallets = services.get(WalletService)
        async with services.uow() as uow:
            a = (await wallets.create_wallet(uow, "USD", "a")).id
            b = (await wallets.create_wallet(uow, "USD", "b")).id
            for wallet in (a, b):
                await wallets.fund(uow, wallet, Money.of(10_000_000, "USD"), None)
            await uow.commit()
        feed = services.calls.feed
        delivered = 0
        expected = args.rounds * args.calls * 2  # each followed transfer moves two followed wallets
        all_delivered = anyio.Event()

        async def count(message: Any) -> None:
            nonlocal delivered
            if isinstance(message, ResourceUpdatedNotification):
                delivered += 1
                if delivered >= expected:
                    all_delivered.set()

        latencies: dict[str, list[float]] = {c: [] for c in CONDITIONS}
        async with Client(server) as agent, Client(server, mode="legacy", message_handler=count) as follower:
            uris = [f"payments://wallets/{w}" for w in (a, b)]
            serial = 0
            for round_ in range(args.rounds):
                order = CONDITIONS[round_ % 3 :] + CONDITIONS[: round_ % 3]
                for condition in order:
                    services.calls.feed = None if condition == "off" else feed
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # resources/subscribe: this era's way, deprecated later
                        for uri in uris:
                            if condition == "on, one follower":
                                await follower.subscribe_resource(uri)
                            else:
                                await follower.unsubscribe_resource(uri)
                    for _ in range(args.calls):
                        serial += 1
                        source, target = (a, b) if serial % 2 else (b, a)
                        arguments = {
                            "source_wallet_id": source,
                            "destination_wallet_id": target,
                            "currency": "USD",
                            "amount_minor": 1,
                            "idempotency_key": f"live-bench-{serial}",
                        }
                        started = time.perf_counter()
                        result = await agent.call_tool("transfer_funds", arguments)
                        latencies[condition].append(time.perf_counter() - started)
                        assert not result.is_error, result.content
            with anyio.move_on_after(2):
                await all_delivered.wait()
        services.calls.feed = feed

    base = statistics.median(latencies["off"])
    return [
        [
            backend,
            condition,
            len(values),
            f"{statistics.median(values) * 1e6:.0f}",
            f"{statistics.fmean(values) * 1e6:.0f}",
            f"{statistics.median(values) / base:.3f}",
            delivered if condition == "on, one follower" else "",
        ]
        for condition, values in latencies.items()
    ]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--calls", type=int, default=30, help="transfers per condition per round")
    return parser.parse_args(argv)


async def main(args: argparse.Namespace) -> None:
    quiet_logging()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    rows: list[list[object]] = []
    with workdir() as where:
        for backend in backends:
            rows += await bench_backend(backend, args, where)
    print(machine_note())
    print(table(["backend", "condition", "calls", "p50 us", "mean us", "p50 / off", "notifications"], rows))


if __name__ == "__main__":
    anyio.run(main, parse_args())
