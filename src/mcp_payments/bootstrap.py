"""Composition root: database -> unit of work -> services -> server."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import anyio
import structlog
from sqlalchemy.engine import make_url

from mcp_payments.adapters.db import migrate
from mcp_payments.adapters.db.engine import Database, normalize_url, open_database
from mcp_payments.adapters.db.errors import translate
from mcp_payments.adapters.db.uow import SqlUnitOfWorkFactory
from mcp_payments.adapters.providers.sandbox import SandboxProvider
from mcp_payments.adapters.signing import Ed25519Signer
from mcp_payments.config import Settings, secrets_path
from mcp_payments.domain.errors import DomainError
from mcp_payments.server.app import PaymentsServer, build_server
from mcp_payments.server.registry import Toolbox
from mcp_payments.services.calls import CallRunner
from mcp_payments.services.compliance import AuditService
from mcp_payments.services.container import Services
from mcp_payments.services.customers import CustomerService
from mcp_payments.services.events import EventService, processed
from mcp_payments.services.monitoring import MonitoringService
from mcp_payments.services.pages import Cursors
from mcp_payments.services.payments import Fees, PaymentService
from mcp_payments.services.ports import Clock
from mcp_payments.services.wallets import WalletService

log = structlog.get_logger("mcp_payments")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCKFORD_PAIRS = [first + second for first in _CROCKFORD for second in _CROCKFORD]


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SortableIds:
    """ULID-style ids: 48 bits of milliseconds then 80 random bits, so ids sort by creation time."""

    def new(self, prefix: str) -> str:
        value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
        # 26 Crockford characters, most significant first, two (10 bits) per lookup: 13 lookups, not 26 divmods.
        return f"{prefix}_{''.join([_CROCKFORD_PAIRS[(value >> shift) & 1023] for shift in range(120, -1, -10)])}"


class StartupError(Exception):
    """A problem the person starting the server must fix; its message says how."""


def describe_url(url: str) -> str:
    return make_url(normalize_url(url)).render_as_string(hide_password=True)


async def open_checked(settings: Settings) -> tuple[Database, str | None]:
    """Open the database and read its schema revision, failing with a clear message when it cannot be reached."""
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
        revision = await migrate.current_revision(db)
    except BaseException as error:
        await db.dispose()
        reason = translate(error)
        detail = reason.message if isinstance(reason, DomainError) else type(error).__name__
        raise StartupError(
            f"cannot reach the database at {describe_url(url)}: {detail} ({_root_cause(error)})"
        ) from None
    return db, revision


async def prepare_database(settings: Settings, *, auto_migrate: bool = True) -> Database:
    """Open the database and make sure its schema is current (a fresh one is created)."""
    db, current = await open_checked(settings)
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
        f"run `mcp-payments migrate --db {url}` first"
    )


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


def build_services(db: Database, settings: Settings, clock: Clock | None = None) -> Services:
    clock = clock or SystemClock()
    ids = SortableIds()
    uow = SqlUnitOfWorkFactory(db)
    key, webhook_secrets = load_secrets(settings)
    cursors = Cursors(key)
    provider = SandboxProvider(clock, key, webhook_secrets[0])
    payments = PaymentService(
        clock,
        ids,
        provider,
        Fees(settings.fee_percent_bp, settings.fee_fixed_minor),
        settings.authorization_ttl,
        settings.action_ttl,
        cursors=cursors,
    )
    return Services(
        uow=uow,
        clock=clock,
        ids=ids,
        calls=CallRunner(uow, clock, settings.idempotency_key_ttl, settings.dedup_window, key_secret=key),
        wallets=WalletService(clock, ids, settings.fx_rates, settings.hold_ttl, cursors=cursors),
        monitoring=MonitoringService(uow),
        audit=AuditService(cursors, Ed25519Signer(key), clock),
        customers=CustomerService(clock, ids, cursors),
        payments=payments,
        events=EventService(clock, webhook_secrets, payments),
        provider=provider,
        fingerprint_key=key,
    )


@asynccontextmanager
async def application(
    settings: Settings, clock: Clock | None = None, auto_migrate: bool = True
) -> AsyncIterator[tuple[PaymentsServer, Toolbox, Services]]:
    """The server and its services, with the database open for the duration."""
    db = await prepare_database(settings, auto_migrate=auto_migrate)
    try:
        services = build_services(db, settings, clock)
        server, box = build_server(services, settings)
        yield server, box, services
    finally:
        await db.dispose()


async def sweep_once(services: Services) -> int:
    """One pass of due work. Returns how many items were handled."""
    calls = services.calls
    # Each job is one transaction with its audit record (principal "system") when it changed anything.
    expired = await calls.background("expire_holds", services.wallets.expire_holds, lambda holds: [h.id for h in holds])
    payments = await calls.background("expire_payments", services.payments.expire_due, lambda due: [p.id for p in due])
    retried = await calls.background("retry_provider_events", services.events.retry_pending, lambda ids: ids)
    # Housekeeping, not domain state: expired idempotency keys are not audited.
    purged = await calls.write(lambda uow: uow.idempotency.purge_expired(services.clock.now()))
    # Last: an event that fails to deliver stops only the delivery, not the work above.
    delivered = await deliver_provider_events(services)
    handled = len(expired) + len(payments) + delivered + len(retried) + purged
    if handled:
        log.info(
            "due_work",
            holds_expired=len(expired),
            payments_expired=len(payments),
            events_delivered=delivered,
            events_retried=len(retried),
            idempotency_keys_purged=purged,
        )
    return handled


async def deliver_provider_events(services: Services) -> int:
    """The provider's queued events take the same path as events posted to the HTTP endpoint."""
    queued = services.provider.drain_events()
    for done, (body, signature) in enumerate(queued):
        try:
            event = services.events.verify(body, signature)
            await services.calls.background(
                "provider_event",
                lambda uow, event=event: services.events.receive(uow, event),  # type: ignore[misc]
                lambda status, event=event: processed(event, status),  # type: ignore[misc]
            )
        except BaseException:
            # Not lost: what was not delivered goes back to the front of the queue for the next pass.
            services.provider.requeue_events([b for b, _ in queued[done:]])
            raise
    return len(queued)


async def run_due_work(services: Services, interval: float) -> None:
    while True:
        # Shielded: shutdown waits for a (short) pass instead of cancelling it mid-query, which leaves an
        # aiosqlite connection closing forever and the process unable to exit when stdin closes.
        with anyio.CancelScope(shield=True):
            try:
                await sweep_once(services)
            except DomainError as error:
                log.warning("due_work_failed", code=error.code)
            except Exception:
                # Due work must not take the server down with it; the next pass tries again.
                log.exception("due_work_crashed")
        await anyio.sleep(interval)
