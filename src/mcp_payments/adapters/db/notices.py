"""Live updates across replicas on PostgreSQL: NOTIFY inside the write transaction, LISTEN on a connection apart.

The NOTIFY travels in the same simple query as the transaction's COMMIT (PgDriver.notify_on_commit), so that a
write costs no extra round trip for it.

PostgreSQL delivers a NOTIFY only when its transaction commits (and never when it rolls back), to every
connection that LISTENs on the channel, in commit order. The payload is a JSON list of resource URIs, cut into
notifications under PostgreSQL's 8000-byte payload limit. Each server process LISTENs on one asyncpg connection
of its own, opened when its first subscriber arrives, and hands what it hears to its bus (server/live.py); when
that connection drops it is opened again, and the bus then announces everything it follows (what committed while
nobody listened was never heard).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from typing import Any

import anyio
import asyncpg
import structlog
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db.driver import Driver, PgDriver

CHANNEL = "mcp_payments_resources"
_PAYLOAD_BYTES = 7000  # under PostgreSQL's 8000-byte limit, with room to spare
log = structlog.get_logger("mcp_payments.live")


def chunks(uris: Sequence[str]) -> list[str]:
    """The payloads that carry `uris`: JSON lists, each under the payload limit."""
    out: list[str] = []
    batch: list[str] = []
    for uri in uris:
        if batch and len(json.dumps([*batch, uri])) > _PAYLOAD_BYTES:
            out.append(json.dumps(batch))
            batch = []
        batch.append(uri)
    if batch:
        out.append(json.dumps(batch))
    return out


class SqlNotices:
    """NOTIFY in the unit of work's transaction (PostgreSQL); nothing on SQLite (its feed publishes in-process)."""

    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self.driver = driver

    async def notify(self, uris: Sequence[str]) -> None:
        if isinstance(self.driver, PgDriver):  # sent with the COMMIT: no round trip of its own
            for payload in chunks(uris):
                self.driver.notify_on_commit(CHANNEL, payload)


def parse(payload: str) -> list[str]:
    """The URIs of a notification; nothing from one this server did not send."""
    try:
        found = json.loads(payload)
    except ValueError:
        return []
    return [u for u in found if isinstance(u, str)] if isinstance(found, list) else []


class PgListener:
    """LISTEN on a dedicated connection; `heard` gets the URIs of every committed change, any replica's."""

    def __init__(
        self, url: str, heard: Callable[[list[str]], None], reopened: Callable[[], None] | None = None
    ) -> None:
        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.heard = heard
        self.reopened = reopened  # told once LISTEN is back after a drop: what committed meanwhile was not heard
        self._conn: asyncpg.Connection | None = None
        self._opening = anyio.Lock()
        self._reopening: asyncio.Task[None] | None = None
        self._stopped = False

    async def start(self) -> None:
        """Listen, unless listening already."""
        self._stopped = False
        if self._conn is not None and not self._conn.is_closed():
            return
        async with self._opening:
            if self._conn is not None and not self._conn.is_closed():
                return
            conn = await asyncpg.connect(self.dsn)
            await conn.add_listener(CHANNEL, self._on_notification)
            conn.add_termination_listener(self._on_lost)
            self._conn = conn
            log.info("listening", channel=CHANNEL)

    async def notify(self, uris: list[str]) -> None:
        """NOTIFY outside any write (the SDK's own publish): on the listening connection, opened if need be."""
        await self.start()
        assert self._conn is not None
        for payload in chunks(uris):
            await self._conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)

    async def stop(self) -> None:
        self._stopped = True
        if self._reopening is not None:
            self._reopening.cancel()
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with anyio.CancelScope(shield=True):
                await conn.close()

    def _on_notification(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        self.heard(parse(payload))

    def _on_lost(self, conn: Any) -> None:
        """The LISTEN connection dropped (a database restart, a network cut): open it again, once a second until it
        works. What committed meanwhile was never heard: once listening again, `reopened` is told, and announces
        everything this process's clients follow (LiveBus.resync)."""
        log.warning("listen_connection_lost", channel=CHANNEL)
        if not self._stopped and (self._reopening is None or self._reopening.done()):
            self._reopening = asyncio.get_running_loop().create_task(self._reopen())

    async def _reopen(self) -> None:
        while not self._stopped:
            try:
                await self.start()
            except (OSError, asyncpg.PostgresError):
                await anyio.sleep(1)
                continue
            # Listening again (here, or by a start() that came first): whatever committed since the drop is
            # announced from now on, and what committed during it is made up for.
            log.info("listening_again", channel=CHANNEL)
            if self.reopened is not None:
                self.reopened()
            return
