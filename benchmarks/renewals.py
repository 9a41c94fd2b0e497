"""Renewal throughput: subscription renewals run by the jobs (through advance_sandbox_clock's service), beside the
service-path transfer rate measured in the same invocation.

    python benchmarks/renewals.py [--backend sqlite|postgresql|both] [--subscriptions N] [--rounds R] [--seconds S]

Per backend: N subscriptions on one monthly plan (a day's trial, so the seed charges nothing), then R rounds of
(a) S seconds of service-path transfers (WalletService.transfer in a unit of work, one caller, as transfers.py's
"service" column) and (b) an advance of the sandbox clock by a month, in which the renewal job renews each
subscription once: an invoice, an off-session payment with its ledger postings and fees, the subscription moved
on, and an audit record per renewal, RENEWAL_BATCH renewals per transaction (categories/subscriptions.py).
Renewals per second is N / the advance's time.
Reported: both rates, their ratio (target >= 0.3, issue 11), round trips and CPU per renewal, and the share of the
advance spent in the renewal job itself (the rest: finding the next due instant, moving the clock, other jobs).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchlib import (
    Sample,
    StatementCounter,
    bench_settings,
    machine_note,
    median,
    process_cpu_seconds,
    quiet_logging,
    table,
    throwaway_database,
    workdir,
)
from transfers import check_chain, check_ledger, drive, seed_app, service_transfer

from mcp_payments import runtime
from mcp_payments.adapters.db.engine import open_database
from mcp_payments.bootstrap import build_services
from mcp_payments.domain.money import Money
from mcp_payments.domain.subscriptions import Interval
from mcp_payments.services.clock_advance import ClockAdvance
from mcp_payments.services.container import Services
from mcp_payments.services.customers import CustomerService
from mcp_payments.services.job_runner import JobRunner
from mcp_payments.services.payments.lifecycle import PaymentService
from mcp_payments.services.ports import UnitOfWork
from mcp_payments.services.sandbox_clock import SandboxClock
from mcp_payments.services.subscriptions.lifecycle import SubscriptionService
from mcp_payments.services.subscriptions.plans import PlanService

RENEW = "renew_subscriptions"
TARGET = 0.3  # renewals per second / service transfers per second (issue 11, item 10)


class Frozen:
    """Time stands still but for the sandbox clock's advances: every round renews exactly one period."""

    def now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC)


async def seed_subscriptions(services: Services, n: int) -> None:
    customers, payments = services.get(CustomerService), services.get(PaymentService)
    subscriptions, plans = services.get(SubscriptionService), services.get(PlanService)
    method = payments.payment_method("pm_card_visa", None)

    async def make_plan(uow: UnitOfWork) -> str:
        return (await plans.create(uow, "Monthly", Money.of(1250, "USD"), Interval.MONTH, 1, 1)).id

    plan_id = await services.calls.write(make_plan)

    async def batch(uow: UnitOfWork, size: int) -> None:
        for i in range(size):
            customer = await customers.create(uow, f"bench{i}@example.com", None, None)
            await subscriptions.create(uow, customer.id, plan_id, method, None)

    for start in range(0, n, 100):
        size = min(100, n - start)
        await services.calls.write(lambda uow, size=size: batch(uow, size))  # type: ignore[misc]


async def advance_a_month(services: Services) -> tuple[Sample, float]:
    """One month of the sandbox clock; its renewals as a Sample, and the share of the time the renewal job took."""
    runner = services.get(JobRunner)
    advance = ClockAdvance(services.get(SandboxClock), services.calls, runner, sandbox=True)
    in_renewals = 0.0
    renew = runner.run

    async def timed_run(job):  # type: ignore[no-untyped-def]
        nonlocal in_renewals
        started = time.perf_counter()
        try:
            return await renew(job)
        finally:
            if job.name == RENEW:
                in_renewals += time.perf_counter() - started

    runner.run = timed_run  # type: ignore[method-assign]
    try:
        await services.calls.write(lambda uow: advance.start(uow, "P1M", None))
        cpu, started = process_cpu_seconds(), time.perf_counter()
        done = await advance.finish()
        seconds = time.perf_counter() - started
    finally:
        runner.run = renew  # type: ignore[method-assign]
    assert done is not None, "the advance was started above"
    assert not done.failed[RENEW], done.failed
    return Sample(done.items[RENEW], seconds, process_cpu_seconds() - cpu), in_renewals / seconds


async def bench_backend(backend: str, args: argparse.Namespace, where: Path) -> dict[str, object]:
    async with throwaway_database(backend, "app", where) as app:
        db = open_database(app.url)
        try:
            services = build_services(db, bench_settings(app.url), clock=Frozen())
            ids = await seed_app(services, 100)
            await seed_subscriptions(services, args.subscriptions)
            transfers, renewals, shares, trips = [], [], [], []
            for round_no in range(args.rounds):
                log(f"{backend} round {round_no + 1}/{args.rounds}: transfers")
                await drive(service_transfer(services, ids), 1, 0.5, seed=round_no)
                transfers.append((await drive(service_transfer(services, ids), 1, args.seconds, seed=round_no))[0])
                log(f"{backend} round {round_no + 1}/{args.rounds}: renewals")
                with StatementCounter(db) as counter:
                    sample, share = await advance_a_month(services)
                renewals.append(sample)
                shares.append(share)
                trips.append(counter.round_trips / sample.transfers)
            await check_ledger(services)
            await check_chain(services)
        finally:
            await db.dispose()
    transfer_rate = median([s.rate for s in transfers])
    renewal_rate = median([s.rate for s in renewals])
    return {
        "backend": backend,
        "transfers/s (service)": f"{transfer_rate:.0f}",
        "renewals/s (jobs)": f"{renewal_rate:.0f}",
        "ratio": f"{renewal_rate / transfer_rate:.2f}",
        "round trips / renewal": f"{median(trips):.1f}",
        "CPU ms / renewal": f"{median([s.cpu_ms_per_transfer for s in renewals]):.2f}",
        "CPU ms / transfer": f"{median([s.cpu_ms_per_transfer for s in transfers]):.2f}",
        "in the renewal job": f"{median(shares):.0%}",
    }


def log(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--subscriptions", type=int, default=500, help="renewed once per round (default 500)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; medians are reported (default 3)")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of transfers per round (default 5)")
    return parser.parse_args(argv)


async def main(args: argparse.Namespace) -> None:
    quiet_logging("WARNING")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    with workdir() as where:
        rows = [await bench_backend(backend, args, where) for backend in backends]
    print(machine_note())
    print(table(list(rows[0]), [list(row.values()) for row in rows]))
    print(f"target: renewals/s >= {TARGET} x service transfers/s")


if __name__ == "__main__":
    runtime.run(main, parse_args())
