"""Connected SQLAlchemy connections kept open for units of work, each with its driver (driver.py).

Checking a connection out of SQLAlchemy's pool and back in cost ~90 us of CPU per unit of work
(two greenlet round trips and the pool's events), more than a wallet read itself. A unit of work
only needs a connection that is already open, so these stay open and are handed out as they are.
"""

from __future__ import annotations

from collections import deque

import anyio
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from mcp_payments.adapters.db.driver import Driver, driver_of

Pooled = tuple[AsyncConnection, Driver]


class ConnectionPool:
    def __init__(self, engine: AsyncEngine, size: int) -> None:
        self.engine = engine
        self.size = size
        self._idle: deque[Pooled] = deque()
        self._slots = anyio.Semaphore(size)
        self._closed = False

    async def acquire(self) -> Pooled:
        await acquire(self._slots)
        try:
            while self._idle:
                conn, driver = self._idle.pop()
                if driver.usable:
                    return conn, driver
                await _discard(conn)  # it broke while idle (the server restarted, say)
            conn = await self.engine.connect()
            return conn, driver_of(conn)
        except BaseException:
            self._slots.release()
            raise

    async def release(self, pooled: Pooled, *, reusable: bool) -> None:
        """Take a connection back; one in an unknown state (`reusable` False) is closed instead."""
        conn, driver = pooled
        try:
            if reusable and driver.usable and not self._closed and not conn.closed and not conn.invalidated:
                self._idle.append(pooled)
                return
            await _discard(conn)
        finally:
            self._slots.release()

    def stats(self) -> tuple[int, int, int]:
        """(size, connections in use, open connections idle), for /metrics."""
        return self.size, self.size - int(self._slots.value), len(self._idle)

    async def close(self) -> None:
        self._closed = True
        while self._idle:
            await self._idle.pop()[0].close()


async def acquire(lock: anyio.Semaphore | anyio.Lock) -> None:
    """Acquire without a trip through the event loop when free: anyio's acquire() always yields once."""
    try:
        lock.acquire_nowait()
    except anyio.WouldBlock:
        await lock.acquire()


async def _discard(conn: AsyncConnection) -> None:
    with anyio.CancelScope(shield=True):
        try:
            await conn.invalidate()
        finally:
            await conn.close()
