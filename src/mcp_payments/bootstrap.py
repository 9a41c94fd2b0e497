"""Composition root: database -> unit of work -> services -> server."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import structlog

from mcp_payments import catalog, invocation
from mcp_payments.adapters.db import migrate
from mcp_payments.adapters.db.deferred import (
    DeferredUnitOfWorkFactory,
    LazyDatabase,
    plain_sqlite_path,
    sqlite_revision,
)
from mcp_payments.config import Settings, secrets_path
from mcp_payments.domain.errors import DomainError, NotAuthenticated
from mcp_payments.server.access import HttpAccess, network_access, process_access
from mcp_payments.server.app import PaymentsServer, build_server, live_bus
from mcp_payments.server.live import LiveBus
from mcp_payments.server.registry import Toolbox
from mcp_payments.services.analytics.service import AnalyticsService
from mcp_payments.services.approvals import Approvals
from mcp_payments.services.call_stats import CallStats
from mcp_payments.services.calls import CallRunner
from mcp_payments.services.container import Services
from mcp_payments.services.job_runner import JobRunner
from mcp_payments.services.jobs import AnyJob, Job, Retry
from mcp_payments.services.live import NOTICES, LocalFeed, NotifyFeed
from mcp_payments.services.pages import Cursors
from mcp_payments.services.payments.lifecycle import PaymentService
from mcp_payments.services.ports import JOBS, TOOL_STATS, Claim, Clock, UnitOfWork, UnitOfWorkFactory
from mcp_payments.services.sandbox_clock import SANDBOX_CLOCK, SandboxClock
from mcp_payments.services.views import VIEWS, Views
from mcp_payments.services.wallets import WalletService

if TYPE_CHECKING:
    from mcp_payments.adapters.db.engine import Database
    from mcp_payments.adapters.db.uow import RepositoryFactory
    from mcp_payments.services.ports import Repo

log = structlog.get_logger("mcp_payments")
# How often a process reads the sandbox clock's offset: it lags an advance made by another process by at most this.
CLOCK_FOLLOW_SECONDS = 1.0
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCKFORD_PAIRS = [first + second for first in _CROCKFORD for second in _CROCKFORD]


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SortableIds:
    """ULID-style ids: 48 bits of milliseconds then 80 random bits, so ids sort by creation time.

    Within a process they also sort in the order they were made (ULID's monotonic mode): an id that would not
    come after the last one (the same millisecond with smaller random bits, or a clock set back) is the last one
    plus one. Webhook deliveries go out in id order, and the events one transaction publishes were delivered in a
    random order when their ids fell in one millisecond."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()  # ids are also made in worker threads

    def new(self, prefix: str) -> str:
        value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
        with self._lock:
            if value <= self._last:
                value = self._last + 1
            self._last = value
        # 26 Crockford characters, most significant first, two (10 bits) per lookup: 13 lookups, not 26 divmods.
        return f"{prefix}_{''.join([_CROCKFORD_PAIRS[(value >> shift) & 1023] for shift in range(120, -1, -10)])}"


class StartupError(Exception):
    """A problem the person starting the server must fix; its message says how."""


def describe_url(url: str) -> str:
    """The URL as the async driver is named in it, without its password."""
    if (path := plain_sqlite_path(url)) is not None:
        return f"sqlite+aiosqlite:///{path}"  # what SQLAlchemy makes of it, without importing SQLAlchemy
    from sqlalchemy.engine import make_url

    from mcp_payments.adapters.db.engine import normalize_url

    return make_url(normalize_url(url)).render_as_string(hide_password=True)


async def open_checked(settings: Settings, *, create: bool = False) -> tuple[Database, str | None]:
    """Open the database and read its schema revision, failing with a clear message when it cannot be reached.

    A PostgreSQL database that does not exist is created when `create` and the role may; else the message gives
    the `createdb` command."""
    from sqlalchemy.engine import make_url

    from mcp_payments.adapters.db.engine import normalize_url, open_database

    try:
        url = normalize_url(settings.db_url)
    except ValueError as error:
        raise StartupError(str(error)) from None
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:":
            await (await anyio.Path(path).expanduser()).parent.mkdir(parents=True, exist_ok=True)
    db = open_database(url)
    try:
        return db, await migrate.current_revision(db)
    except BaseException as error:
        await db.dispose()
        from mcp_payments.adapters.db import provision

        if not provision.names_missing_database(error):
            raise _unreachable(url, error) from None
    await _create_missing(url, create)
    db = open_database(url)
    try:
        return db, await migrate.current_revision(db)
    except BaseException as error:
        await db.dispose()
        raise _unreachable(url, error) from None


async def _create_missing(url: str, create: bool) -> None:
    from mcp_payments.adapters.db import provision

    where = describe_url(url)
    run = provision.createdb_command(url)
    if not create:
        raise StartupError(f"the database at {where} does not exist: create it with `{run}`, then run this again")
    try:
        await provision.create_database(url)
    except provision.CannotCreate as refused:
        raise StartupError(
            f"the database at {where} does not exist and could not be created ({refused}): create it with `{run}` "
            "(or ask the server's administrator to), then start again"
        ) from None
    log.info("database_created", url=where)


def _unreachable(url: str, error: BaseException) -> StartupError:
    from mcp_payments.adapters.db.errors import translate

    reason = translate(error)
    detail = reason.message if isinstance(reason, DomainError) else type(error).__name__
    where = describe_url(url)
    check = ""
    if url.startswith("postgresql"):
        from mcp_payments.adapters.db import provision

        check = f"; check that PostgreSQL accepts connections there: `{provision.pg_isready_command(url)}`"
    return StartupError(f"cannot reach the database at {where}: {detail} ({_root_cause(error)}){check}")


async def prepare_database(
    settings: Settings, *, auto_migrate: bool = True, defer: bool = False
) -> Database | LazyDatabase:
    """Open the database and make sure its schema is current (a fresh one is created).

    `defer`: a plain SQLite file whose schema is current is checked with one query and opened on first use
    (adapters/db/deferred.py); anything else is opened now."""
    if defer and (lazy := _current_sqlite(settings)) is not None:
        return lazy
    db, current = await open_checked(settings, create=auto_migrate)
    head = migrate.head_revision()
    if current == head:
        return db  # every start but the first: this one read, no lock
    if current is None and auto_migrate:
        # Replicas started together all see it empty; upgrade() lets one create it, the others find it done.
        log.info("creating_database", url=describe_url(settings.db_url))
        if await migrate.upgrade(db) is not None:
            log.info("database_created_by_another_process", url=describe_url(settings.db_url))
        return db
    await db.dispose()
    url = describe_url(settings.db_url)
    raise StartupError(
        f"the database at {url} is at schema revision {current} but this version needs {head}: "
        f"run `{invocation.command('migrate', '--db', url)}` first"
    )


def _current_sqlite(settings: Settings) -> LazyDatabase | None:
    path = plain_sqlite_path(settings.db_url)
    if path is None:
        return None
    try:
        current = sqlite_revision(path)
    except (OSError, sqlite3.Error):
        return None  # the full path says what is wrong, in one line
    return LazyDatabase(f"sqlite+aiosqlite:///{path}") if current == migrate.head_revision() else None


def _root_cause(error: BaseException) -> str:
    while error.__cause__ is not None or error.__context__ is not None:
        error = error.__cause__ or error.__context__  # type: ignore[assignment]  # loop ends on None
    return f"{type(error).__name__}: {str(error)[:200]}"


def load_secrets(settings: Settings) -> tuple[bytes, list[str]]:
    """The fingerprint key and the event-signing secrets: from settings, else generated once and kept."""
    stored: dict[str, str] = {}
    if settings.secret_key is None or not settings.webhook_secrets:
        stored = _stored_secrets(secrets_path())
    key = settings.secret_key or stored["secret_key"]
    webhook = list(settings.webhook_secrets) or [stored["webhook_secret"]]
    return key.encode(), webhook


def _stored_secrets(path: Path) -> dict[str, str]:
    """secrets.json, made on first use. Two first starts at once (Claude Desktop and the Inspector) must end
    with one set of keys, or one would hash idempotency keys and sign cursors differently: the file is
    written whole under another name, then linked into place, which fails if the other start got there first."""
    if not path.exists():
        fresh = {"secret_key": secrets.token_hex(32), "webhook_secret": "whsec_" + secrets.token_hex(24)}
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        draft.touch(mode=0o600)
        try:
            draft.write_text(json.dumps(fresh))
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
        finally:
            draft.unlink()
    stored: dict[str, str] = json.loads(path.read_text())
    return stored


def build_services(db: Database | LazyDatabase, settings: Settings, clock: Clock | None = None) -> Services:
    """The platform's services, then every category's (catalog.py), with the jobs they contribute. Time is the
    sandbox clock's: `clock` (the real one by default) plus the offset advance_sandbox_clock moved it by."""
    real = clock or SystemClock()
    clock = SandboxClock(real)
    key, webhook_secrets = load_secrets(settings)
    uow: UnitOfWorkFactory
    if isinstance(db, LazyDatabase):
        uow = DeferredUnitOfWorkFactory(db, repositories)
    else:
        from mcp_payments.adapters.db.uow import SqlUnitOfWorkFactory

        uow = SqlUnitOfWorkFactory(db, repositories())
    ids = SortableIds()
    services = Services(
        uow=uow,
        clock=clock,
        ids=ids,
        calls=CallRunner(
            uow, clock, settings.idempotency_key_ttl, settings.dedup_window, key_secret=key, ids=ids, key_clock=real
        ),
        cursors=Cursors(key),
        secret_key=key,
        webhook_secrets=tuple(webhook_secrets),
    )
    services.add(CallStats(clock))  # before the categories: monitoring reads it
    catalog.wire(services, settings)
    services.jobs.extend(housekeeping(clock, settings.job_run_retention, real))
    retry = Retry(settings.job_retry_base, settings.job_retry_cap, settings.job_max_attempts)
    secrets_ = (key.decode(), *webhook_secrets)
    services.add(JobRunner(services.calls, clock, services.jobs, retry, secrets=secrets_))
    services.add(views_of(services))
    services.add(clock)
    return services


def views_of(services: Services) -> Views:
    """The views (resources, MCP Apps): composed from the categories' services, so wired after them all."""
    return Views(
        services.get(PaymentService),
        services.get(WalletService),
        services.get(Approvals),
        services.get(AnalyticsService),
        services.get(JobRunner),
    )


def repositories() -> dict[Repo[Any], RepositoryFactory]:
    """Every repository: the categories' and the platform's own."""
    from mcp_payments.adapters.db.jobs_repo import SqlJobs
    from mcp_payments.adapters.db.monitoring_repo import SqlToolStats
    from mcp_payments.adapters.db.notices import SqlNotices
    from mcp_payments.adapters.db.sandbox_clock_repo import SqlSandboxClock
    from mcp_payments.adapters.db.views_repo import SqlViews

    return {
        **catalog.repositories(),
        JOBS: SqlJobs,
        SANDBOX_CLOCK: SqlSandboxClock,
        TOOL_STATS: SqlToolStats,
        VIEWS: SqlViews,
        NOTICES: SqlNotices,
    }


def housekeeping(clock: Clock, run_retention: timedelta, key_clock: Clock | None = None) -> list[AnyJob]:
    """The platform's own jobs. They change no domain state, so they are not audited. Idempotency keys expire in
    `key_clock`'s time (the real one: see CallRunner), whatever the sandbox clock says."""
    keys = key_clock or clock

    async def expired_keys(uow: UnitOfWork, claim: Claim) -> list[tuple[str, str]]:
        return await uow.idempotency.claim_expired(replace(claim, now=keys.now()))

    async def purge_key(uow: UnitOfWork, key: tuple[str, str]) -> list[str]:
        await uow.idempotency.delete(*key)
        return []

    async def oldest_expired_key(uow: UnitOfWork, claim: Claim) -> datetime | None:
        return await uow.idempotency.oldest_expiry(replace(claim, now=keys.now()))

    async def old_runs(uow: UnitOfWork, claim: Claim) -> list[int]:
        return await uow.repo(JOBS).claim_old_runs(claim, clock.now() - run_retention)

    async def purge_run(uow: UnitOfWork, run_id: int) -> list[str]:
        await uow.repo(JOBS).delete_run(run_id)
        return []

    async def oldest_run(uow: UnitOfWork, claim: Claim) -> datetime | None:
        oldest = await uow.repo(JOBS).oldest_run(claim, clock.now() - run_retention)
        return oldest + run_retention if oldest is not None else None

    return [
        Job("purge_idempotency_keys", expired_keys, purge_key, lambda k: k[1], oldest_expired_key, False, batch=200),
        Job("purge_job_runs", old_runs, purge_run, str, oldest_run, audited=False, batch=200),
    ]


def build(
    db: Database | LazyDatabase, settings: Settings, clock: Clock | None = None, http: HttpAccess | None = None
) -> tuple[PaymentsServer, Toolbox, Services]:
    """The server with every category's tools, on `db`. `http`: served over http/sse (callers bring bearer
    tokens); None: stdio or in-memory (the process's own principal)."""
    services = build_services(db, settings, clock)
    access = process_access(services, settings) if http is None else network_access(services, settings, http)
    server, box = build_server(services, settings, catalog.register_tools, access)
    wire_live(services, settings)
    return server, box, services


def wire_live(services: Services, settings: Settings) -> None:
    """Announce committed changes to the live bus: through PostgreSQL (every replica hears them), or in-process."""
    if services.calls.feed is not None:
        return
    bus = live_bus(services)
    if services.uow.backend == "postgresql":
        from mcp_payments.adapters.db.notices import PgListener

        listener = PgListener(settings.db_url, bus.deliver, reopened=bus.resync)
        bus.start, bus.stop, bus.relay = listener.start, listener.stop, listener.notify
        services.calls.feed = NotifyFeed()
    else:
        services.calls.feed = LocalFeed(bus.deliver)


@asynccontextmanager
async def application(
    settings: Settings,
    clock: Clock | None = None,
    auto_migrate: bool = True,
    http: HttpAccess | None = None,
    defer_database: bool = False,
) -> AsyncIterator[tuple[PaymentsServer, Toolbox, Services]]:
    """The server and its services, with the database open for the duration (`defer_database`: opened on first
    use when it can be, see prepare_database)."""
    db = await prepare_database(settings, auto_migrate=auto_migrate, defer=defer_database)
    built: tuple[PaymentsServer, Toolbox, Services] | None = None
    try:
        built = build(db, settings, clock, http)
        if not isinstance(db, LazyDatabase):  # a deferred one is read when it opens (cli.py): SQLAlchemy waits
            await follow_sandbox_clock(built[2])
        yield built
    finally:
        if built is not None:
            await built[2].get(LiveBus).close()  # its LISTEN connection, on PostgreSQL
        await db.dispose()


@asynccontextmanager
async def services_of(settings: Settings, clock: Clock | None = None) -> AsyncIterator[Services]:
    """The services without a server (a worker), with the database open for the duration."""
    db = await prepare_database(settings)
    try:
        services = build_services(db, settings, clock)
        if services.uow.backend == "postgresql":
            # A worker serves no subscriber, but what its jobs change (a hold expiring, a renewal) reaches the
            # servers' subscribers through PostgreSQL. On SQLite the server's own jobs are the ones announced.
            services.calls.feed = NotifyFeed()
        await follow_sandbox_clock(services)
        yield services
    finally:
        await db.dispose()


async def follow_sandbox_clock(services: Services) -> None:
    """Take the sandbox clock's offset from the database, where another process may have advanced it."""
    state = await services.calls.read(lambda uow: uow.repo(SANDBOX_CLOCK).get(), snapshot=False)
    services.get(SandboxClock).apply(state.offset)


async def keep_following_sandbox_clock(services: Services, interval: float) -> None:
    """The sandbox clock's offset read every `interval` seconds, until cancelled: how far behind another process's
    advance this one may be."""
    while True:
        try:
            await follow_sandbox_clock(services)
        except Exception:
            log.warning("sandbox_clock_unread", exc_info=True)  # the database is away: the next read tries again
        await anyio.sleep(interval)


async def check_own_key(server: PaymentsServer) -> None:
    """stdio with MCP_PAYMENTS_API_KEY: the key must be usable now (known, not revoked, not expired), or the server
    does not start. It is read again on every call after that."""
    try:
        caller = await server.callers.current()
    except NotAuthenticated as refused:
        raise StartupError(
            f"MCP_PAYMENTS_API_KEY: {refused.message}; create a key with "
            f"`{invocation.command('keys', 'create', '--name', 'NAME', '--role', 'agent')}`, or unset "
            "MCP_PAYMENTS_API_KEY to serve as the local user"
        ) from None
    log.info("api_key_accepted", principal=caller.principal, credential=caller.credential, role=caller.role.value)


async def sweep_once(services: Services) -> int:
    """One pass of every job, each on its own: a job that fails is recorded and the others still run; then one
    run of each job that otherwise runs on its own (the sealer: what the pass recorded is sealed too).
    Returns how many items the pass did."""
    runner = services.get(JobRunner)
    done = (await runner.run_pass()).done
    for job in services.jobs:
        if job.every is not None:
            await runner.run(job)
    return done


async def run_due_work(services: Services, interval: float) -> None:
    """Passes of every job, `interval` seconds apart, until cancelled; at once again when a pass left work. Jobs
    that must follow close behind (Job.every: sealing the audit log) also run on their own, that often."""
    runner = services.get(JobRunner)
    async with anyio.create_task_group() as tg:
        tg.start_soon(keep_following_sandbox_clock, services, CLOCK_FOLLOW_SECONDS)
        for job in services.jobs:
            if job.every is not None:
                tg.start_soon(run_often, runner, job)
        await _passes(runner, interval)


async def run_often(runner: JobRunner, job: AnyJob) -> None:
    """Runs of `job`, job.every apart, until cancelled; at once again when a run left work."""
    assert job.every is not None
    while True:
        try:
            more = (await runner.run(job)).more
        except Exception:
            log.exception("due_work_crashed", job=job.name)  # as in _passes: a bug in the runner
            more = False
        if not more:
            await anyio.sleep(job.every.total_seconds())


async def flush_call_stats(services: Services, interval: float) -> None:
    """Add this process's tool call statistics to the database every `interval` seconds, until cancelled; then
    once more, so that a clean stop loses none."""
    try:
        while True:
            await anyio.sleep(interval)
            await flush_now(services)
    finally:
        await flush_now(services)


async def flush_now(services: Services) -> None:
    """Add this process's tool call statistics to the database now (at most 5 s, not cancelled by a shutdown)."""
    with anyio.CancelScope(shield=True), anyio.move_on_after(5):
        await _flush(services)


async def _flush(services: Services) -> None:
    try:
        await services.get(CallStats).flush(services.calls)
    except Exception:
        log.warning("call_stats_flush_failed", exc_info=True)  # kept in memory: the next flush tries again


async def _passes(runner: JobRunner, interval: float) -> None:
    while True:
        try:
            result = await runner.run_pass()
        except Exception:
            # Due work must not take the server down with it (each job is isolated already: this is a bug in
            # the runner); the next pass tries again.
            log.exception("due_work_crashed")
            result = None
        if result is None or not result.more:
            await anyio.sleep(interval)
