"""The lock that lets one process at a time migrate a database; the others wait, then find the work done.

PostgreSQL: a transaction-level advisory lock taken first in the migration's own transaction, so it is
released by COMMIT or ROLLBACK and cannot outlive the migration (nor leak through a pooler that hands
the session to someone else). SQLite: an exclusive flock (LockFileEx on Windows) on `<db>.migrate.lock`
beside the database file, released when the file is closed, so also by the process dying. The lock
file stays after release: removing it would let a waiter that opened the old file and a newcomer that
created a new one both think they hold the lock.

Waiting never blocks the event loop: PostgreSQL waits in the server, the file lock is tried without
blocking and polled.
"""

from __future__ import annotations

import errno
import itertools
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import structlog
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

log = structlog.get_logger("mcp_payments")

# Fixed, so that every process and version takes the same lock; advisory keys are per database.
PG_KEY = 0x6D63_7061_796D_6967  # b"mcpaymig"
POLL_SECONDS = 0.1


async def take_advisory_lock(conn: AsyncConnection) -> None:
    """Hold the migration lock for the rest of `conn`'s transaction, waiting for whoever holds it."""
    if await conn.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": PG_KEY}):
        return
    log.info("migration_lock_busy", lock="pg_advisory_xact_lock", key=PG_KEY)
    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_KEY})


def lock_file_of(url: str) -> Path | None:
    """`<database file>.migrate.lock` for a SQLite file; None for PostgreSQL and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    database = Path(parsed.database)  # as sqlite3 opens it (no ~ expansion), so the lock is beside that file
    return database.with_name(f"{database.name}.migrate.lock")


@asynccontextmanager
async def file_lock(path: Path | None) -> AsyncIterator[None]:
    """Hold an exclusive lock on `path` (created if need be) for the block; no lock when `path` is None."""
    if path is None:
        yield
        return
    # No O_TRUNC (the holder's file is not ours to change); O_NOFOLLOW where there is one, so a link planted
    # at the lock's name cannot make us create or open a file elsewhere.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        # Polled: the OS offers no waiting flock that an event loop can await (or cancel).
        for attempt in itertools.count():
            if _try_lock(fd):
                break
            if attempt == 0:
                log.info("migration_lock_busy", lock=str(path))
            await anyio.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


if sys.platform == "win32":  # pragma: no cover  # not run here: the same calls through msvcrt
    import msvcrt

    _BUSY = {errno.EACCES, errno.EDEADLOCK}

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)  # msvcrt locks bytes from the current position: always byte 0
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as error:
            if error.errno in _BUSY:
                return False
            raise
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    _BUSY = {errno.EACCES, errno.EAGAIN, errno.EWOULDBLOCK}  # EACCES: some file systems' "held elsewhere"

    def _try_lock(fd: int) -> bool:
        # flock, not lockf: flock locks belong to the open file, so two opens in one process exclude each
        # other too (lockf's belong to the process, and would let concurrent tasks in it through together).
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno in _BUSY:
                return False
            raise
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
