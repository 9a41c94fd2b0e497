"""A PostgreSQL database that the URL names but the server does not have: created when the role may, or else the
exact `createdb` command to run. (A SQLite file is created by opening it.)"""

from __future__ import annotations

import shlex
from collections.abc import Iterator

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

# SQLSTATEs: invalid_catalog_name (no such database), insufficient_privilege, duplicate_database.
_NO_SUCH_DATABASE = "3D000"
_NOT_ALLOWED = "42501"
_ALREADY_THERE = "42P04"
# Where CREATE DATABASE is sent from: the database every PostgreSQL server has for that.
_MAINTENANCE = "postgres"


def names_missing_database(error: BaseException) -> bool:
    """Whether connecting failed because the database the URL names does not exist."""
    return _NO_SUCH_DATABASE in _sqlstates(error)


def _sqlstates(error: BaseException | None) -> Iterator[str]:
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        for candidate in (error, getattr(error, "orig", None)):
            state = getattr(candidate, "sqlstate", None)
            if isinstance(state, str):
                yield state
        error = error.__cause__ or error.__context__


class CannotCreate(Exception):
    """The database could not be created; the message says why, without the password."""


async def create_database(url: str) -> None:
    """CREATE DATABASE for the database `url` names, from the server's maintenance database with the same role and
    options. One that another process made meanwhile is as good."""
    target = make_url(url)
    engine = create_async_engine(target.set(database=_MAINTENANCE), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = engine.dialect.identifier_preparer.quote(target.database or "")
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql(f"CREATE DATABASE {name}")
    except sa_exc.DBAPIError as error:
        states = set(_sqlstates(error))
        if _ALREADY_THERE in states:
            return
        if _NOT_ALLOWED in states:
            raise CannotCreate(f"role {target.username} may not create databases") from None
        raise CannotCreate(f"{type(error.orig).__name__}: {str(error.orig).splitlines()[0][:200]}") from None
    except OSError as error:
        raise CannotCreate(f"{type(error).__name__}: {error}") from None
    finally:
        await engine.dispose()


def createdb_command(url: str) -> str:
    """The `createdb` command line that makes the database `url` names (never with its password)."""
    return shlex.join(["createdb", *_where(url), make_url(url).database or ""])


def pg_isready_command(url: str) -> str:
    """The `pg_isready` command line that asks the server `url` names whether it accepts connections."""
    return shlex.join(["pg_isready", *_where(url)])


def _where(url: str) -> list[str]:
    target = make_url(url)
    args: list[str] = []
    for flag, value in (("-h", target.host), ("-p", target.port), ("-U", target.username)):
        if value:
            args += [flag, str(value)]
    return args
