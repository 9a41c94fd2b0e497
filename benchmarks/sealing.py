"""The sealer's client CPU per record: in small steps (a run chasing busy callers) against full batches.

    python benchmarks/sealing.py [--backend sqlite|postgresql|both] [--rounds N] [--seconds S] [--small 12]

Each round makes a backlog of unsealed audit records with the tool path of transfers.py (8 callers for S seconds,
no sealer beside them), then seals it in steps of `--small` records (about what a run that chased 8 transfer
callers took per step on PostgreSQL), then makes another backlog and seals it in full batches (sealing.BATCH).
A step costs a transaction of its own (head lock, claim, seal, the job's bookkeeping): in small steps that cost is
paid per few records. The ratio is the one to read; the absolute numbers move with the machine's load.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from benchlib import (
    bench_settings,
    machine_note,
    median,
    process_cpu_seconds,
    quiet_logging,
    table,
    throwaway_database,
    workdir,
)
from transfers import check_chain, drive, seed_app, tool_transfer

from mcp_payments import runtime
from mcp_payments.adapters.db.engine import open_database
from mcp_payments.bootstrap import build_services
from mcp_payments.services import sealing
from mcp_payments.services.container import Services
from mcp_payments.services.job_runner import JobRunner


async def seal_backlog(services: Services, ids: list[str], batch: int, seconds: float, seed: int) -> tuple[int, float]:
    """A backlog made by the tool path, then sealed by one run in steps of `batch`: (steps, CPU ms per record)."""
    made, _ = await drive(tool_transfer(services, ids), 8, seconds, seed)
    job = replace(sealing.JOB, batch=batch, every=None)  # every=None: the run goes on until nothing is unsealed
    before = process_cpu_seconds()
    run = await services.get(JobRunner).run(job)
    return run.done, (process_cpu_seconds() - before) / made.transfers * 1000


async def bench_backend(backend: str, args: argparse.Namespace) -> list[object]:
    with workdir() as where:
        async with throwaway_database(backend, "app", where) as app:
            db = open_database(app.url)
            try:
                services = build_services(db, bench_settings(app.url))
                ids = await seed_app(services, 100)
                await services.get(JobRunner).run(sealing.JOB)  # the seeding's records
                small: list[float] = []
                full: list[float] = []
                steps = {"small": 0, "full": 0}
                for round_no in range(args.rounds):
                    print(f"  .. {backend} round {round_no + 1}/{args.rounds}", file=sys.stderr, flush=True)
                    done, ms = await seal_backlog(services, ids, args.small, args.seconds, round_no)
                    small.append(ms)
                    steps["small"] += done
                    done, ms = await seal_backlog(services, ids, sealing.BATCH, args.seconds, round_no)
                    full.append(ms)
                    steps["full"] += done
                await check_chain(services)
            finally:
                await db.dispose()
    s, f = median(small), median(full)
    return [backend, steps["small"], f"{s:.3f}", steps["full"], f"{f:.3f}", f"{s / f:.1f}"]


async def main(args: argparse.Namespace) -> None:
    quiet_logging()
    before = machine_note()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    rows = [await bench_backend(backend, args) for backend in backends]
    print(f"\nsealing CPU per record, ms (medians of {args.rounds} rounds)")
    print(f"machine: at start {before}; at end {machine_note()}")
    small, full = f"steps of {args.small}", f"steps of {sealing.BATCH}"
    headers = ["backend", small, "ms/record", full, "ms/record", "small / full"]
    print(table(headers, rows))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds of tool-path calls per backlog")
    parser.add_argument("--small", type=int, default=12, help="records per step of the chasing run (default 12)")
    return parser.parse_args()


if __name__ == "__main__":
    runtime.run(main, parse_args())
