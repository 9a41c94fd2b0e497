"""Database failures as domain errors an agent can act on: the one translation, for every repository."""

from __future__ import annotations

import sqlite3

import asyncpg
from sqlalchemy import exc as sa_exc

from mcp_payments.adapters.db.driver import TransactionRolledBack
from mcp_payments.domain.errors import Contention, DataError, DomainError, Unavailable

# PostgreSQL SQLSTATEs that mean "another transaction got in the way; run it again".
_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}
# sqlite3.OperationalError is also raised for what is not the database being out of reach.
_SQLITE_DATA_ERRORS = ("integer overflow", "too big", "string or blob too big")


def translate(error: BaseException) -> BaseException:
    """Database failures become domain errors an agent can act on; anything else passes.

    They come wrapped by SQLAlchemy (statements run through it) or straight from the driver
    (statements and transaction control in driver.py)."""
    if isinstance(error, DomainError):
        return error
    unreachable = Unavailable("the database cannot be reached right now: retry in a few seconds")
    orig = error.orig if isinstance(error, sa_exc.DBAPIError) else error
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in _RETRYABLE_SQLSTATES or "database is locked" in str(orig):
        return Contention("the database was busy with a concurrent change: retry the call unchanged")
    if sqlstate == "23514":
        # A CHECK constraint (the second line of defence) caught what the domain's check, made on
        # rows read earlier, let through: the whole call runs again on fresh rows.
        return Contention("a concurrent change got in the way: retry the call unchanged")
    if (
        (isinstance(sqlstate, str) and sqlstate.startswith("22"))
        or isinstance(orig, sqlite3.DataError)
        or (isinstance(orig, sqlite3.OperationalError) and any(m in str(orig) for m in _SQLITE_DATA_ERRORS))
    ):
        return data_error()
    if isinstance(error, sa_exc.DBAPIError) and (
        error.connection_invalidated or isinstance(error, sa_exc.InterfaceError | sa_exc.OperationalError)
    ):
        return unreachable
    if isinstance(error, TransactionRolledBack):
        return Contention("the database rolled the change back: retry the call unchanged")
    if isinstance(error, OSError | asyncpg.InterfaceError | asyncpg.PostgresConnectionError):
        return unreachable
    if isinstance(error, sqlite3.OperationalError):
        return unreachable
    return error


def data_error() -> DataError:
    return DataError(
        "the database cannot hold or compute with a value (a number out of range, or text it cannot store); "
        "nothing was changed. Check the values sent; if they are valid, the stored data may have been altered "
        "outside the server: run check_ledger_integrity"
    )
