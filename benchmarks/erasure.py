"""The cost of erase_customer_data on a database with history: the erasure scans every column where personal
data may be repeated (adapters/db/erasure_repo.py MENTIONS) with a case-insensitive LIKE, so it is a full scan
of those tables. Printed beside one plain `SELECT count(*) ... WHERE lower(memo) LIKE` over the journal, the
largest of them, in the same run.

    python benchmarks/erasure.py [--rows 100000] [--backend sqlite|postgresql|both]

The history is bulk-inserted: `--rows` journal transactions (memos), idempotency records (arguments and answers
as JSON) and payment events, a few of each naming the customer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import bench_settings, machine_note, quiet_logging, throwaway_database, workdir
from sqlalchemy import func, insert, select

from mcp_payments.adapters.db import tables
from mcp_payments.adapters.db.engine import open_database
from mcp_payments.bootstrap import build_services
from mcp_payments.services.erasure import Erasure

NAME = "Wilhelmina Quarrington"
_BATCH = 5000


async def seed(db_url: str, rows: int) -> None:
    db = open_database(db_url)
    now = datetime.now(UTC)
    try:
        async with db.writer.begin() as conn:
            await conn.execute(insert(tables.customers).values(id="cus_target", name=NAME, created_at=now))
            await conn.execute(
                insert(tables.payments),
                [_payment("pay_target", "cus_target", now)],
            )
            for start in range(0, rows, _BATCH):
                batch = range(start, min(start + _BATCH, rows))
                mention = {i for i in batch if i % 10_000 == 0}
                await conn.execute(
                    insert(tables.journal_transactions),
                    [
                        {
                            "id": f"txn_{i:012d}",
                            "kind": "transfer",
                            "memo": f"rent from {NAME}" if i in mention else f"invoice {i} for order {i * 7}",
                            "created_at": now,
                        }
                        for i in batch
                    ],
                )
                await conn.execute(
                    insert(tables.idempotency_keys),
                    [
                        {
                            "principal": "key:bench",
                            "key": f"k:{i}",
                            "tool": "create_customer",
                            "request_hash": "0" * 64,
                            "arguments": json.dumps({"name": NAME if i in mention else f"Customer {i}"}),
                            "response": json.dumps({"customer": {"id": f"cus_{i}", "name": f"Customer {i}"}}),
                            "created_at": now,
                            "expires_at": now,
                        }
                        for i in batch
                    ],
                )
                await conn.execute(
                    insert(tables.payment_events),
                    [
                        {
                            "payment_id": "pay_target",
                            "type": "payment.created",
                            "data": json.dumps({"n": i}),
                            "created_at": now,
                        }
                        for i in batch
                    ],
                )
    finally:
        await db.dispose()


def _payment(payment_id: str, customer_id: str, now: datetime) -> dict[str, object]:
    return {
        "id": payment_id,
        "amount": 100,
        "currency": "USD",
        "customer_id": customer_id,
        "status": "succeeded",
        "capture_method": "automatic",
        "amount_capturable": 0,
        "amount_received": 100,
        "amount_refunded": 0,
        "amount_allocated": 0,
        "fee": 0,
        "card_brand": "visa",
        "card_last4": "4242",
        "card_exp_month": 12,
        "card_exp_year": 2030,
        "card_fingerprint": "f" * 64,
        "scenario": "succeeds",
        "disputed": False,
        "created_at": now,
        "updated_at": now,
    }


async def measure(backend: str, rows: int, folder: Path) -> None:
    async with throwaway_database(backend, "erasure", folder) as made:
        started = time.perf_counter()
        await seed(made.url, rows)
        seeded = time.perf_counter() - started
        db = open_database(made.url)
        try:
            services = build_services(db, bench_settings(made.url))
            erasure = services.get(Erasure)
            async with db.reader.connect() as conn:
                started = time.perf_counter()
                memo = tables.journal_transactions.c.memo
                query = select(func.count()).where(func.lower(memo).like("%quarrington%"))
                (await conn.execute(query)).scalar_one()
                scan = time.perf_counter() - started
            started = time.perf_counter()
            report = await services.calls.write(lambda uow: erasure.erase(uow, "cus_target"))
            erase = time.perf_counter() - started
        finally:
            await db.dispose()
    rewritten = sum(report.rewritten.values())
    print(
        f"| {backend} | {rows:,} | {seeded:.1f} s | {scan * 1000:.0f} ms | {erase * 1000:.0f} ms "
        f"| {erase / scan:.1f} | {rewritten} |"
    )


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = p.parse_args()
    quiet_logging()
    print(machine_note())
    print(
        "| backend | rows per table | seeding | one LIKE scan of the journal | erase_customer_data | ratio "
        "| rows rewritten |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    with workdir() as folder:
        for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
            await measure(backend, args.rows, folder)


if __name__ == "__main__":
    asyncio.run(main())
