"""What the benchmark scripts share: throwaway databases, quiet logging, statement counting, tables.

Not a test and not part of the package: the scripts in this folder are run by hand.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import make_url

from mcp_payments import logging as app_logging
from mcp_payments.adapters.db import migrate
from mcp_payments.adapters.db.driver import PgDriver, SqliteDriver
from mcp_payments.adapters.db.engine import Database, open_database
from mcp_payments.config import Settings

PG_ADMIN_DSN = os.environ.get("MCP_PAYMENTS_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def quiet_logging(level: str = "INFO") -> None:
    """The app's real structlog configuration (JSON renderer), writing to /dev/null instead of stderr.

    Rendering each canonical log line is part of a tool call's cost, so it stays switched on;
    only the terminal write is dropped.
    """
    stderr = sys.stderr
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process, like stderr
    try:
        app_logging.configure(level)
    finally:
        sys.stderr = stderr


def bench_settings(db_url: str) -> Settings:
    """Settings for a benchmark: explicit keys, so nothing is generated into the user's data directory."""
    return Settings(
        db_url=db_url,
        background=False,
        secret_key="bench-" + uuid.uuid4().hex,
        webhook_secrets=("whsec_bench_" + uuid.uuid4().hex,),
    )


@dataclass(frozen=True)
class Throwaway:
    """A database that exists only for this run."""

    backend: str
    url: str  # SQLAlchemy URL (aiosqlite / asyncpg)
    path: Path | None = None  # SQLite file
    name: str | None = None  # PostgreSQL database name


@asynccontextmanager
async def throwaway_database(backend: str, label: str, workdir: Path) -> AsyncIterator[Throwaway]:
    """An empty database migrated to head: a temp file on SQLite, CREATE DATABASE on PostgreSQL; removed after."""
    tag = f"{label}_{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        path = workdir / f"bench-{tag}.db"
        made = Throwaway(backend, f"sqlite+aiosqlite:///{path}", path=path)
        await _migrate(made.url)
        yield made
        return
    name = f"mcpp_bench_{tag}"
    admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        made = Throwaway(backend, pg_url(name), name=name)
        await _migrate(made.url)
        yield made
    finally:
        admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def _migrate(url: str) -> None:
    db = open_database(url)
    try:
        await migrate.upgrade(db)
    finally:
        await db.dispose()


def pg_url(name: str) -> str:
    return make_url(PG_ADMIN_DSN).set(drivername="postgresql+asyncpg", database=name).render_as_string(False)


def pg_cli_args(name: str) -> list[str]:
    """-h/-p/-U for pgbench and psql, taken from the admin DSN."""
    url = make_url(PG_ADMIN_DSN)
    args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    return [*args, name]


def pg_env() -> dict[str, str]:
    env = dict(os.environ)
    password = make_url(PG_ADMIN_DSN).password
    if password:
        env["PGPASSWORD"] = str(password)
    return env


@contextmanager
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="mcpp-bench-") as path:
        yield Path(path)


class StatementCounter:
    """Counts what units of work send to the database: statements through SQLAlchemy, and the driver's
    own calls (BEGIN, COMMIT, ROLLBACK and the hot-path statements, adapters/db/driver.py)."""

    _METHODS = ("begin", "begin_with", "commit", "rollback", "fetch", "execute_many", "_flush", "_prepare")

    def __init__(self, db: Database) -> None:
        self.engine = db.writer.sync_engine
        self.statements = 0
        self.driver_calls = 0
        self._saved: list[tuple[type, str, Any]] = []

    def _on_execute(self, *_: Any) -> None:
        self.statements += 1

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._on_execute)
        for cls in (SqliteDriver, PgDriver):
            for name in self._METHODS:
                if not hasattr(cls, name):
                    continue  # _flush and _prepare: PostgreSQL's only
                original = getattr(cls, name)
                self._saved.append((cls, name, original))
                setattr(cls, name, self._counting(original, name == "rollback"))
        return self

    def _counting(self, original: Any, only_in_transaction: bool) -> Any:
        async def call(driver: Any, *args: Any, **kwargs: Any) -> Any:
            if not only_in_transaction or driver.in_transaction:
                self.driver_calls += 1
            return await original(driver, *args, **kwargs)

        return call

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on_execute)
        for cls, name, original in self._saved:
            setattr(cls, name, original)

    @property
    def round_trips(self) -> int:
        return self.statements + self.driver_calls


@dataclass(frozen=True)
class Sample:
    """One timed measurement: how many transfers in how long, and the CPU the benchmark process used."""

    transfers: int
    seconds: float
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.transfers / self.seconds

    @property
    def cpu_ms_per_transfer(self) -> float:
        return self.cpu_seconds / self.transfers * 1000 if self.transfers else float("nan")


def process_cpu_seconds() -> float:
    """CPU time (user + system, all threads) of this process and of its finished children, such as pgbench.

    Only what the benchmark itself runs: other tenants of a shared machine do not count. On SQLite
    that is all the work (the database engine runs in-process); on PostgreSQL it is the client's
    share, the server's backends are not included.
    """
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def machine_note() -> str:
    """The conditions a run saw: cores and load average (other tenants of a shared machine show up here)."""
    one, five, _ = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {one:.1f} (1 min) {five:.1f} (5 min)"


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def by_size_table(first: str, by_size: dict[int, dict[str, float]], sizes: list[int]) -> str:
    """Milliseconds per call at each size, and each larger size's ratio to the smallest."""
    base = sizes[0]
    header = [first, *(f"{s:,} ms" for s in sizes), *(f"{s:,} / {base:,}" for s in sizes[1:])]
    lines = [
        [name, *(f"{by_size[s][name]:.1f}" for s in sizes), *(f"{by_size[s][name] / ms:.2f}x" for s in sizes[1:])]
        for name, ms in by_size[base].items()
    ]
    return table(header, lines)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers], *[[_fmt(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return " | ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )

    return "\n".join([line(cells[0]), "-+-".join("-" * w for w in widths), *(line(r) for r in cells[1:])])


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if value < 10 else f"{value:.0f}"
    return str(value)
