"""Where a SQLite transfer's time goes: the same transfer through ever thinner layers, one caller.

    python benchmarks/sqlite_overhead.py [--seconds N]

aiosqlite runs each SQLite connection on its own thread, and every call to it (creating a cursor,
executing, fetching, closing, committing) is one round trip to that thread and back. This prints
the transfer rate of each layer as a ratio to plain sqlite3, and how many such thread round trips
one transfer takes, so that the cost of the layering can be told from the cost of the SQL.

Layers, thinnest first (all in WAL mode, synchronous=FULL, BEGIN IMMEDIATE, same statements):
- sqlite3: the reference of benchmarks/transfers.py, one thread.
- one hop per transaction: the whole transaction as one function on a dedicated thread.
- aiosqlite: one await per statement on aiosqlite's connection (no SQLAlchemy).
- empty unit of work: the service layer's `async with uow: commit`, nothing in it.
- service transfer: WalletService.transfer inside a unit of work.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiosqlite
from benchlib import bench_settings, quiet_logging, table, throwaway_database, workdir
from transfers import (
    CURRENCY,
    _sqlite_now,
    ref_wallet_id,
    reference_sqlite_transfer,
    seed_app,
    seed_reference_sqlite,
    service_transfer,
    sqlite_reference,
)

from mcp_payments.adapters.db.engine import open_database
from mcp_payments.bootstrap import build_services

WALLETS = 100
PRAGMAS = ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=30000")
Step = Callable[[random.Random], Awaitable[None]]


def transfer_sql(rng: random.Random) -> tuple[str, str, int, str]:
    source, target = rng.sample([ref_wallet_id(i) for i in range(WALLETS)], 2)
    return source, target, rng.randint(1, 100), f"txn_{uuid.uuid4().hex[:26]}"


async def rate(step: Step, seconds: float) -> float:
    rng = random.Random(1)
    warm_until = time.perf_counter() + min(0.5, seconds / 4)
    while time.perf_counter() < warm_until:
        await step(rng)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        await step(rng)
        done += 1
    return done / (time.perf_counter() - started)


class HopCounter:
    """Counts calls handed to aiosqlite's connection thread (its private `_execute`: diagnostics only)."""

    def __init__(self) -> None:
        self.hops = 0
        self._original = aiosqlite.Connection._execute

    def __enter__(self) -> HopCounter:
        original = self._original

        async def counting(connection: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
            self.hops += 1
            return await original(connection, fn, *args, **kwargs)

        aiosqlite.Connection._execute = counting  # type: ignore[method-assign]
        return self

    def __exit__(self, *_: object) -> None:
        aiosqlite.Connection._execute = self._original  # type: ignore[method-assign]


async def hops_per(step: Step, n: int = 20) -> float:
    rng = random.Random(2)
    await step(rng)
    with HopCounter() as counter:
        for _ in range(n):
            await step(rng)
    return counter.hops / n


async def main(seconds: float) -> None:
    quiet_logging()
    with workdir() as where:
        async with (
            throwaway_database("sqlite", "app", where) as app,
            throwaway_database("sqlite", "ref", where) as ref,
        ):
            assert ref.path is not None
            seed_reference_sqlite(ref.path, WALLETS)
            db = open_database(app.url)
            services = build_services(db, bench_settings(app.url))
            ids = await seed_app(services, WALLETS)
            executor = ThreadPoolExecutor(max_workers=1)
            plain = await asyncio.get_running_loop().run_in_executor(executor, _connect, ref.path)
            aio = await aiosqlite.connect(ref.path, isolation_level=None)
            for pragma in PRAGMAS:
                await aio.execute(f"PRAGMA {pragma}")
            try:
                rows = await measure(seconds, ref.path, services, ids, executor, plain, aio)
            finally:
                await aio.close()
                await asyncio.get_running_loop().run_in_executor(executor, plain.close)
                executor.shutdown()
                await db.dispose()
    print(f"\nSQLite transfer, 1 caller, {seconds:g} s each: every layer against plain sqlite3")
    print(table(["layer", "tx/s", "ratio", "thread round trips / transfer"], rows))


async def measure(
    seconds: float,
    ref_path: Path,
    services: Any,
    ids: list[str],
    executor: ThreadPoolExecutor,
    plain: sqlite3.Connection,
    aio: aiosqlite.Connection,
) -> list[list[object]]:
    loop = asyncio.get_running_loop()

    async def one_hop(rng: random.Random) -> None:
        await loop.run_in_executor(executor, reference_sqlite_transfer, plain, *transfer_sql(rng))

    async def per_statement(rng: random.Random) -> None:
        source, target, amount, txn_id = transfer_sql(rng)
        await aio.execute("BEGIN IMMEDIATE")
        await aio.execute("UPDATE accounts SET posted = posted - ? WHERE id = ?", (amount, source))
        await aio.execute("UPDATE accounts SET posted = posted + ? WHERE id = ?", (amount, target))
        await aio.execute(
            "INSERT INTO journal_transactions (id, kind, memo, created_at) VALUES (?, 'transfer', NULL, ?)",
            (txn_id, _sqlite_now()),
        )
        await aio.executemany(
            "INSERT INTO entries (transaction_id, account_id, amount, currency) VALUES (?, ?, ?, ?)",
            [(txn_id, source, -amount, CURRENCY), (txn_id, target, amount, CURRENCY)],
        )
        await aio.execute("COMMIT")

    async def empty_uow(_rng: random.Random) -> None:
        async with services.uow() as uow:
            await uow.commit()

    reference = sqlite_reference(ref_path, WALLETS, 1, seconds).rate
    rows: list[list[object]] = [["sqlite3 (reference)", f"{reference:.0f}", "1.00", "-"]]
    layers: list[tuple[str, Step, str]] = [
        ("one hop per transaction", one_hop, "1"),
        ("aiosqlite, one await per statement", per_statement, ""),
        ("empty unit of work", empty_uow, ""),
        ("service transfer", service_transfer(services, ids), ""),
    ]
    for name, step, hops in layers:
        measured = await rate(step, seconds)
        rows.append([name, f"{measured:.0f}", f"{measured / reference:.2f}", hops or f"{await hops_per(step):.0f}"])
    return rows


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in PRAGMAS:
        conn.execute(f"PRAGMA {pragma}")
    return conn


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per layer (default 3)")
    asyncio.run(main(parser.parse_args().seconds))
