"""aiosqlite's interface without its thread: SQLite calls run on the event loop's own thread.

An embedded SQLite statement takes microseconds, less than the hand-off to aiosqlite's worker
thread and back, and a transfer makes a dozen of them. Running them inline gives SQLAlchemy's
async engine the same driver interface at a fraction of the cost. The price is that a call that
waits (for a lock held by another process, up to busy_timeout) holds the event loop meanwhile;
within one process writers queue on Database.write_lock first, so they never wait inside SQLite.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Generator
from typing import Any

import aiosqlite

from mcp_payments.adapters.db import journal_bindings


class _RunNow:
    """Stands in for aiosqlite's queue to its thread: runs each queued call at once.

    SQLAlchemy's adapter queues some calls itself (setting isolation_level)."""

    def put_nowait(self, item: tuple[Any, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:
            if future is not None:
                future.set_exception(error)
            return
        if future is not None:
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunNow()  # type: ignore[assignment]  # only put_nowait is used

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._connect().__await__()  # no worker thread to start

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        self.stop()


def inline_creator(path: str, timeout: float) -> Callable[[], Any]:
    """An async_creator for create_async_engine."""

    async def create() -> InlineConnection:
        # The pool may hand a connection to another task, but always on the loop's thread.
        return await InlineConnection(lambda: _connect(path, timeout))

    return create


def _connect(path: str, timeout: float) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=timeout, check_same_thread=False)
    journal_bindings.register_sqlite(conn)  # check_ledger_integrity's digest of a journal transaction
    return conn
