"""Transfer throughput: the service layer and the tool path, each against a raw reference doing the same work.

    python benchmarks/transfers.py [--backend sqlite|postgresql|both] [--seconds N] [--callers 1,8]

For each backend and caller count, in one invocation (the machine is noisy, so only the ratios
printed side by side mean anything):

- reference: the same double-entry transfer written by hand on a migrated copy of the schema.
  PostgreSQL: pgbench -M prepared with a custom script (BEGIN; UPDATE debit; UPDATE credit; INSERT
  journal transaction; INSERT two entries; END), rows updated in id order so it cannot deadlock.
  SQLite: python sqlite3 in WAL mode with synchronous=FULL, BEGIN IMMEDIATE, one thread and
  connection per caller with a busy timeout.
- service: WalletService.transfer inside a unit of work, committed.
- tool path (minus MCP): CallRunner.mutate with one Call per transfer (a fresh idempotency key),
  so each transfer also claims and completes its idempotency key and appends its audit record; the
  sealer runs beside it as in `serve` (every 0.5 s), linking the records into the chain.
- tool SQL (the floor of the tool path): the tool path's own statements with no Python around them, on the
  reference database (the app's schema): pgbench running BEGIN, the idempotency claim, ledger_repo.PG_POST, the
  completion with the audit record, END; on SQLite the reference transfer plus the key's lookup, the audit record
  and the key's row, as the app writes them. Rows of the sizes a transfer_funds call stores; no sealing.

Every caller moves 1..100 minor units between a random pair of N generously funded wallets.
"""

from __future__ import annotations

import argparse
import random
import re
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import anyio
import asyncpg
from benchlib import (
    Sample,
    StatementCounter,
    Throwaway,
    bench_settings,
    machine_note,
    median,
    pg_cli_args,
    pg_env,
    process_cpu_seconds,
    quiet_logging,
    table,
    throwaway_database,
    workdir,
)

from mcp_payments import runtime
from mcp_payments.adapters.db.engine import Database, open_database
from mcp_payments.adapters.db.ledger_repo import PG_POST
from mcp_payments.adapters.db.platform_repo import (
    _APPEND_SQLITE,
    _CLAIM_PREPARED,
    _COMPLETE_AND_APPEND_PREPARED,
    _HOLDER_SQLITE,
    _PUT_KEY_SQLITE,
)
from mcp_payments.bootstrap import build_services, run_often, sweep_once
from mcp_payments.domain.errors import Contention
from mcp_payments.domain.money import Money
from mcp_payments.server.tools.wallets import TransferResult
from mcp_payments.services import sealing
from mcp_payments.services.commands import Command, Done
from mcp_payments.services.compliance import AuditService
from mcp_payments.services.container import Services
from mcp_payments.services.job_runner import JobRunner
from mcp_payments.services.ports import UnitOfWork
from mcp_payments.services.wallets import WalletService

FUNDING = 10**12  # minor units per wallet: no transfer in a run can overdraw it
CURRENCY = "USD"
Transfer = Callable[[random.Random], Awaitable[None]]
T = TypeVar("T")


@dataclass
class Cell:
    backend: str
    callers: int
    samples: dict[str, list[Sample]] = field(
        default_factory=lambda: {"reference": [], "app_sql": [], "tool_sql": [], "service": [], "tool": []}
    )
    failures: int = 0

    def rate(self, what: str) -> float:
        return median([s.rate for s in self.samples[what]])

    def cpu(self, what: str) -> str:
        return f"{median([s.cpu_ms_per_transfer for s in self.samples[what]]):.2f}"


# ---------------------------------------------------------------- the application's paths


async def seed_app(services: Services, n: int) -> list[str]:
    async with services.uow() as uow:
        ids = [(await services.get(WalletService).create_wallet(uow, CURRENCY, f"bench {i}")).id for i in range(n)]
        for wallet_id in ids:
            await services.get(WalletService).fund(uow, wallet_id, Money.of(FUNDING, CURRENCY), "bench funding")
        await uow.commit()
    return ids


def service_transfer(services: Services, ids: list[str]) -> Transfer:
    async def transfer(rng: random.Random) -> None:
        source, target = rng.sample(ids, 2)
        async with services.uow() as uow:
            await services.get(WalletService).transfer(
                uow, source, target, Money.of(rng.randint(1, 100), CURRENCY), None
            )
            await uow.commit()

    return transfer


def tool_transfer(services: Services, ids: list[str]) -> Transfer:
    """What the transfer_funds tool runs below MCP: CallRunner.mutate, then the result model rebuilt."""

    async def transfer(rng: random.Random) -> None:
        source, target = rng.sample(ids, 2)
        minor = rng.randint(1, 100)
        arguments = {
            "source_wallet_id": source,
            "destination_wallet_id": target,
            "currency": CURRENCY,
            "amount_minor": minor,
        }
        command = Command("transfer_funds", "bench", arguments, f"bench-{uuid.uuid4().hex}")
        money = Money.of(minor, CURRENCY)

        async def operation(uow: UnitOfWork) -> Done:
            result = TransferResult.of(await services.get(WalletService).transfer(uow, source, target, money, None))
            return Done(result.model_dump(mode="json"), result.entity_ids(), result)

        outcome = await services.calls.mutate(command, operation)
        assert isinstance(outcome.value, TransferResult)

    return transfer


async def drive(transfer: Transfer, callers: int, seconds: float, seed: int) -> tuple[Sample, int]:
    """`callers` concurrent loops of `transfer` for `seconds`; also returns the contention failures."""
    done = failed = 0
    deadline = time.perf_counter() + seconds

    async def caller(rng: random.Random) -> None:
        nonlocal done, failed
        while time.perf_counter() < deadline:
            try:
                await transfer(rng)
            except Contention:
                failed += 1
            else:
                done += 1

    cpu, started = process_cpu_seconds(), time.perf_counter()
    async with anyio.create_task_group() as tg:
        for i in range(callers):
            tg.start_soon(caller, random.Random(seed * 1000 + i))
    return Sample(done, time.perf_counter() - started, _cpu_since(cpu)), failed


def _cpu_since(before: float) -> float:
    return process_cpu_seconds() - before


async def count_round_trips(db: Database, transfer: Transfer, n: int = 20) -> float:
    rng = random.Random(7)
    await transfer(rng)  # warm: pool checkout and prepared statements out of the way
    with StatementCounter(db) as counter:
        for _ in range(n):
            await transfer(rng)
    return counter.round_trips / n


# ---------------------------------------------------------------- the references

REF_STATEMENTS = 6  # BEGIN, UPDATE, UPDATE, INSERT transaction, INSERT entries (2 rows), COMMIT


def ref_wallet_id(i: int) -> str:
    return f"wal_{i:026d}"  # the length of a real wal_<ULID> id


async def seed_reference_pg(ref: Throwaway, n: int) -> None:
    conn = await asyncpg.connect(ref.url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.executemany(
            "INSERT INTO accounts (id, type, currency, allow_overdraft, posted, pending, name, created_at) "
            "VALUES ($1, 'wallet', $2, false, $3, 0, $4, now())",
            [(ref_wallet_id(i), CURRENCY, FUNDING, f"ref {i}") for i in range(n)],
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def pgbench_variables(n: int) -> str:
    """A random transfer for pgbench: src -> dst of amt; lo/hi the pair in id order, dlo/dhi their changes."""
    return f"""\
\\set src random(0, {n - 1})
\\set dst (:src + random(1, {n - 1})) % {n}
\\set amt random(1, 100)
\\set lo least(:src, :dst)
\\set hi greatest(:src, :dst)
\\set dlo case when :lo = :src then -:amt else :amt end
\\set dhi -:dlo
\\set namt -:amt
\\set txn random(0, 9000000000000000000)
"""


def pgbench_script(n: int) -> str:
    wal = "'wal_' || lpad(:{}::text, 26, '0')"
    txn = "'txn_' || lpad(:txn::text, 26, '0')"
    return f"""{pgbench_variables(n)}BEGIN;
UPDATE accounts SET posted = posted + :dlo WHERE id = {wal.format("lo")};
UPDATE accounts SET posted = posted + :dhi WHERE id = {wal.format("hi")};
INSERT INTO journal_transactions (id, kind, memo, created_at) VALUES ({txn}, 'transfer', NULL, now());
INSERT INTO entries (transaction_id, account_id, amount, currency) VALUES \
({txn}, {wal.format("src")}, :namt, '{CURRENCY}'), ({txn}, {wal.format("dst")}, :amt, '{CURRENCY}');
END;
"""


def pgbench_app_sql_script(n: int) -> str:
    """The application's own posting statement (ledger_repo.PG_POST) run by pgbench: the SQL without Python."""
    return f"""{pgbench_variables(n)}BEGIN;
{_pgbench_posting()};
END;
"""


def _pgbench_posting() -> str:
    """ledger_repo.PG_POST with pgbench's variables (pgbench_variables) for its parameters."""
    wal = "'wal_' || lpad(:{}::text, 26, '0')"
    values = [  # $1 .. $11
        f"ARRAY[{wal.format('lo')}, {wal.format('hi')}]",
        "ARRAY[:dlo, :dhi]",
        f"ARRAY['{CURRENCY}', '{CURRENCY}']",
        "('txn_' || lpad(:txn::text, 26, '0'))",
        "'transfer'",
        "NULL",
        "now()",
        "NULL",
        f"ARRAY[{wal.format('src')}, {wal.format('dst')}]",
        "ARRAY[:namt, :amt]",
        f"ARRAY['{CURRENCY}', '{CURRENCY}']",
    ]
    return _substitute(PG_POST, values)


# What a transfer_funds call stores beside its posting (measured: arguments ~145, response ~1,250 and the audit record
# ~470 characters), for the floor measurements: the sizes matter to the SQL's cost, the contents do not.
WALLETS = f'"destination_wallet_id":"wal_{"0" * 26}","source_wallet_id":"wal_{"1" * 26}"'
KEY_ARGUMENTS = '{"amount_minor":42,"currency":"USD",' + WALLETS + "}"
KEY_RESPONSE = '{"response":"' + "r" * 1230 + '"}'
AUDIT_RECORD = '{"record":"' + "a" * 452 + '"}'
REQUEST_HASH = "0" * 64


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _substitute(statement: str, values: list[str]) -> str:
    return re.sub(r"\$(\d+)", lambda m: values[int(m.group(1)) - 1], statement.strip())


def pgbench_tool_sql_script(n: int) -> str:
    """The tool path's statements (idempotency claim, PG_POST, completion with the audit record) run by pgbench."""
    key = "('k:' || md5(:txn::text) || md5(:src::text || :txn::text))"
    now, principal, tool = "now()", "'bench'", "'transfer_funds'"
    claim = [
        principal,
        key,
        tool,
        _sql_text(REQUEST_HASH),
        _sql_text(KEY_ARGUMENTS),
        "'{}'",
        now,
        f"{now} + interval '1 day'",
    ]
    audit_id = "('aud_' || lpad(:txn::text, 26, '0'))"
    complete = [_sql_text(KEY_RESPONSE), principal, key, audit_id, now, principal, tool, _sql_text(AUDIT_RECORD)]
    return f"""{pgbench_variables(n)}BEGIN;
{_substitute(_CLAIM_PREPARED[2], claim)};
{_pgbench_posting()};
{_substitute(_COMPLETE_AND_APPEND_PREPARED[2], complete)};
END;
"""


def pgbench_reference(ref: Throwaway, script: Path, callers: int, seconds: float) -> Sample:
    assert ref.name is not None
    command = [
        "pgbench",
        "-n",  # no vacuum of pgbench's own tables: there are none
        "-M",
        "prepared",
        "-f",
        str(script),
        "-c",
        str(callers),
        "-j",
        str(min(callers, 2)),
        "-T",
        str(max(1, round(seconds))),
        *pg_cli_args(ref.name),
    ]
    cpu = process_cpu_seconds()
    out = subprocess.run(command, capture_output=True, text=True, env=pg_env(), check=False)
    cpu_seconds = _cpu_since(cpu)
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out.stdout)
    processed = re.search(r"number of transactions actually processed: (\d+)", out.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", out.stdout)
    if out.returncode != 0 or tps is None or processed is None or (failed and int(failed.group(1))):
        raise RuntimeError(f"pgbench failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    transfers = int(processed.group(1))
    return Sample(transfers, transfers / float(tps.group(1)), cpu_seconds)


def seed_reference_sqlite(path: Path, n: int) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        now = _sqlite_now()
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO accounts (id, type, currency, allow_overdraft, posted, pending, name, created_at) "
            "VALUES (?, 'wallet', ?, 0, ?, 0, ?, ?)",
            [(ref_wallet_id(i), CURRENCY, FUNDING, f"ref {i}", now) for i in range(n)],
        )
        conn.execute("COMMIT")
    finally:
        conn.close()


def reference_sqlite_transfer(conn: sqlite3.Connection, source: str, target: str, amount: int, txn_id: str) -> None:
    """The plain-sqlite3 double-entry transfer every SQLite number is compared with."""
    conn.execute("BEGIN IMMEDIATE")
    _post_sqlite(conn, source, target, amount, txn_id, _sqlite_now())
    conn.execute("COMMIT")


def _post_sqlite(conn: sqlite3.Connection, source: str, target: str, amount: int, txn_id: str, now: str) -> None:
    conn.execute("UPDATE accounts SET posted = posted - ? WHERE id = ?", (amount, source))
    conn.execute("UPDATE accounts SET posted = posted + ? WHERE id = ?", (amount, target))
    conn.execute(
        "INSERT INTO journal_transactions (id, kind, memo, created_at) VALUES (?, 'transfer', NULL, ?)",
        (txn_id, now),
    )
    conn.executemany(
        "INSERT INTO entries (transaction_id, account_id, amount, currency) VALUES (?, ?, ?, ?)",
        [(txn_id, source, -amount, CURRENCY), (txn_id, target, amount, CURRENCY)],
    )


def tool_sql_sqlite_transfer(conn: sqlite3.Connection, source: str, target: str, amount: int, txn_id: str) -> None:
    """The reference transfer with what the tool path adds on SQLite: the key's lookup, the audit record and the
    key's row with its response (platform_repo.py), in the same transaction."""
    conn.execute("BEGIN IMMEDIATE")
    key, now = "k:" + txn_id, _sqlite_now()
    conn.execute(_HOLDER_SQLITE, ("bench", key)).fetchall()
    _post_sqlite(conn, source, target, amount, txn_id, now)
    conn.execute(_APPEND_SQLITE, ("aud_" + txn_id[4:], now, "bench", "transfer_funds", AUDIT_RECORD))
    row = ("bench", key, "transfer_funds", REQUEST_HASH, KEY_ARGUMENTS, KEY_RESPONSE, now, now)
    conn.execute(_PUT_KEY_SQLITE, row)
    conn.execute("COMMIT")


def _sqlite_now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(" ")  # how SQLAlchemy stores a DateTime on SQLite


def sqlite_reference(
    path: Path, n: int, callers: int, seconds: float, transfer: Callable[..., None] = reference_sqlite_transfer
) -> Sample:
    """Plain sqlite3, one thread and connection per caller, the same durability settings as the app."""
    ids = [ref_wallet_id(i) for i in range(n)]
    stop = threading.Event()
    ready = threading.Barrier(callers + 1)
    counts = [0] * callers
    errors: list[BaseException] = []

    def caller(index: int) -> None:
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=30000"):
                conn.execute(f"PRAGMA {pragma}")
            rng = random.Random(index)
        except BaseException as error:
            errors.append(error)
            raise
        finally:
            ready.wait()
        try:
            while not stop.is_set():
                source, target = rng.sample(ids, 2)
                amount = rng.randint(1, 100)
                txn_id = f"txn_{uuid.uuid4().hex[:26]}"
                transfer(conn, source, target, amount, txn_id)
                counts[index] += 1
        except BaseException as error:
            errors.append(error)
            raise
        finally:
            conn.close()

    threads = [threading.Thread(target=caller, args=(i,), daemon=True) for i in range(callers)]
    for t in threads:
        t.start()
    ready.wait()
    cpu, started = process_cpu_seconds(), time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"sqlite reference failed: {errors[0]!r}")
    return Sample(sum(counts), elapsed, _cpu_since(cpu))


# ---------------------------------------------------------------- one backend


async def bench_backend(backend: str, args: argparse.Namespace, where: Path) -> tuple[list[Cell], dict[str, float]]:
    cells = [Cell(backend, c) for c in args.callers]
    async with (
        throwaway_database(backend, "app", where) as app,
        throwaway_database(backend, "ref", where) as ref,
    ):
        db = open_database(app.url)
        try:
            services = build_services(db, bench_settings(app.url))
            ids = await seed_app(services, args.wallets)
            script, app_sql = where / "transfer.pgbench", where / "app_sql.pgbench"
            tool_sql = where / "tool_sql.pgbench"
            measures = ["reference", "tool_sql", "service", "tool"]
            if backend == "postgresql":
                await seed_reference_pg(ref, args.wallets)
                script.write_text(pgbench_script(args.wallets))
                app_sql.write_text(pgbench_app_sql_script(args.wallets))
                tool_sql.write_text(pgbench_tool_sql_script(args.wallets))
                measures.insert(1, "app_sql")
            else:
                assert ref.path is not None
                seed_reference_sqlite(ref.path, args.wallets)
            paths = {"service": service_transfer(services, ids), "tool": tool_transfer(services, ids)}

            async def reference(callers: int, floor: bool = False) -> Sample:
                """The hand-written transfer; floor: the tool path's own statements (the module's docstring)."""
                if backend == "postgresql":
                    pgbench = tool_sql if floor else script
                    return await anyio.to_thread.run_sync(pgbench_reference, ref, pgbench, callers, args.seconds)
                path = ref.path
                assert path is not None
                transfer = tool_sql_sqlite_transfer if floor else reference_sqlite_transfer
                return await anyio.to_thread.run_sync(
                    lambda: sqlite_reference(path, args.wallets, callers, args.seconds, transfer)
                )

            for round_no in range(args.rounds):
                for cell in cells:
                    # Rotate the order per round so slow drift of the machine does not favour one column.
                    shift = round_no % len(measures)
                    for what in measures[shift:] + measures[:shift]:
                        log(f"{backend} callers={cell.callers} round {round_no + 1}/{args.rounds}: {what}")
                        if what in ("reference", "tool_sql"):
                            cell.samples[what].append(await reference(cell.callers, floor=what == "tool_sql"))
                            continue
                        if what == "app_sql":
                            run = (pgbench_reference, ref, app_sql, cell.callers, args.seconds)
                            cell.samples[what].append(await anyio.to_thread.run_sync(*run))
                            continue
                        await drive(paths[what], cell.callers, args.warmup, seed=round_no)
                        timed = drive(paths[what], cell.callers, args.seconds, seed=round_no + 1)
                        sample, failed = await (sealing_beside(services, timed) if what == "tool" else timed)
                        cell.samples[what].append(sample)
                        cell.failures += failed
            trips = {
                "service": await count_round_trips(db, paths["service"]),
                "tool": await count_round_trips(db, paths["tool"]),
            }
            await check_ledger(services)
            await check_chain(services)
        finally:
            await db.dispose()
    return cells, trips


async def sealing_beside(services: Services, work: Awaitable[T]) -> T:
    """`work` with the audit sealer running in the same process, as `serve` runs it."""
    async with anyio.create_task_group() as tg:
        tg.start_soon(run_often, services.get(JobRunner), sealing.JOB)
        result = await work
        tg.cancel_scope.cancel()
    return result


async def check_chain(services: Services) -> None:
    """Every audit record sealed, and the chain verifying from genesis."""
    await sweep_once(services)
    verdict = await services.calls.read(services.get(AuditService).verify)
    assert verdict.valid, verdict
    assert verdict.unsealed_records == 0, verdict
    log(f"audit chain: {verdict.records_checked} records sealed, valid")


async def check_ledger(services: Services) -> None:
    """The run must have kept the books: every transaction balanced, every balance equal to its entries."""
    async with services.uow(write=False) as uow:
        totals = await uow.ledger.totals()
        wrong = await uow.ledger.account_findings(5)  # the accounts whose balance differs from their entries
    assert not totals.unbalanced_transactions, totals.unbalanced_transactions[:5]
    assert all(v == 0 for v in totals.global_sums.values()), totals.global_sums
    assert not wrong.accounts, f"{wrong.problems_total} problems, e.g. {[a.id for a in wrong.accounts]}"


def log(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=5.0, help="timed seconds per measurement (default 5)")
    parser.add_argument("--callers", default="1,8", help="comma-separated concurrent caller counts (default 1,8)")
    parser.add_argument("--wallets", type=int, default=100, help="wallets to move money between (default 100)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat every measurement; medians are reported")
    parser.add_argument("--warmup", type=float, default=0.5, help="untimed seconds before each app measurement")
    args = parser.parse_args(argv)
    args.callers = [int(c) for c in args.callers.split(",") if c.strip()]
    if args.wallets < 2 or not args.callers or min(args.callers) < 1:
        parser.error("need at least 2 wallets and 1 caller")
    return args


TARGETS = {"postgresql": 0.6, "sqlite": 0.5}  # service / reference at 8 callers, from the issue
TOOL_TARGET = 0.5  # tool path / reference at 8 callers, both backends (issue 9, item 5)


async def main(args: argparse.Namespace) -> None:
    quiet_logging()
    before = machine_note()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    rows: list[list[object]] = []
    cpu_rows: list[list[object]] = []
    split_rows: list[list[object]] = []
    floor_rows: list[list[object]] = []
    trip_rows: list[list[object]] = []
    with workdir() as where:
        for backend in backends:
            cells, trips = await bench_backend(backend, args, where)
            trip_rows.append([backend, REF_STATEMENTS, f"{trips['service']:.1f}", f"{trips['tool']:.1f}"])
            for c in cells:
                ref, svc, tool = c.rate("reference"), c.rate("service"), c.rate("tool")
                target = TARGETS[backend]
                verdict = tool_verdict = ""
                if c.callers == 8:
                    verdict = f">= {target} " + ("met" if svc / ref >= target else "MISSED")
                    tool_verdict = f">= {TOOL_TARGET} " + ("met" if tool / ref >= TOOL_TARGET else "MISSED")
                rows.append(
                    [
                        backend,
                        c.callers,
                        f"{ref:.0f}",
                        f"{svc:.0f}",
                        f"{svc / ref:.2f}",
                        f"{tool:.0f}",
                        f"{tool / ref:.2f}",
                        verdict,
                        tool_verdict,
                        c.failures,
                    ]
                )
                cpu_rows.append([backend, c.callers, c.cpu("reference"), c.cpu("service"), c.cpu("tool")])
                floor = c.rate("tool_sql")
                floor_row = [f"{ref:.0f}", f"{floor:.0f}", f"{floor / ref:.2f}", f"{tool:.0f}", f"{tool / floor:.2f}"]
                floor_rows.append([backend, c.callers, *floor_row, c.cpu("tool_sql")])
                if c.samples["app_sql"]:
                    sql = c.rate("app_sql")
                    split = [f"{ref:.0f}", f"{sql:.0f}", f"{sql / ref:.2f}", f"{svc:.0f}", f"{svc / sql:.2f}"]
                    split_rows.append([c.callers, *split])
    print(
        f"\ntransfers/s, {args.seconds:g} s per measurement, {args.rounds} round(s) (medians), "
        f"{args.wallets} wallets, random pairs\nmachine: at start {before}; at end {machine_note()}"
    )
    headers = ["backend", "callers", "reference tx/s", "service tx/s", "ratio", "tool-path tx/s", "ratio"]
    print(table([*headers, "target (service)", "target (tool)", "failures"], rows))
    print(
        "\nCPU per transfer of the benchmark process, ms: on SQLite all the work (the engine runs in-process),"
        "\non PostgreSQL the client's share only (pgbench or Python; the server's backends are not counted)"
    )
    print(table(["backend", "callers", "reference", "service", "tool path"], cpu_rows))
    if split_rows:
        print(
            "\nPostgreSQL split: pgbench running the app's own posting statement (BEGIN; ledger_repo.PG_POST; END)"
            "\ntells the SQL's cost (vs the reference) from the Python client's (service vs the same SQL)"
        )
        headers = ["callers", "reference", "app SQL (pgbench)", "SQL / ref", "service", "service / app SQL"]
        print(table(headers, split_rows))
    print(
        "\nThe tool path's floor: its own statements with no Python around them (tool SQL: pgbench on PostgreSQL,"
        "\nplain sqlite3 threads on SQLite; the module's docstring), against the reference and the tool path"
    )
    headers = ["backend", "callers", "reference", "tool SQL", "tool SQL / ref", "tool path", "tool / tool SQL"]
    print(table([*headers, "tool SQL CPU ms"], floor_rows))
    print("\ndatabase calls per transfer (statements incl. BEGIN/COMMIT; 1 caller, after warm-up)")
    print(table(["backend", "reference", "service", "tool path"], trip_rows))


if __name__ == "__main__":
    runtime.run(main, parse_args())
