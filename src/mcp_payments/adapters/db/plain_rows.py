"""Whole-row inserts and updates as plain SQL on the driver's connection, for statements on a hot path.

A statement through SQLAlchemy Core that carries its values (`insert(t).values(row)`) is built, coerced and
cache-keyed value by value on every call: about ten times the CPU of the driver's own call (adapters/db/driver.py).
The renewal of a subscription makes six such statements; these make the same rows (times in the form
SQLAlchemy's UTCDateTime stores: naive UTC text on SQLite, timestamptz on PostgreSQL), from the same row dicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Table

from mcp_payments.adapters.db.driver import Driver, marks


async def insert_rows(driver: Driver, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT the rows (all with the same keys) into `table`, in one statement."""
    if not rows:
        return
    sql = _insert(table.name, tuple(rows[0]), driver.dialect == "postgresql")
    values = [tuple(_param(driver, v) for v in row.values()) for row in rows]
    if len(values) == 1:
        await driver.fetch(sql, *values[0])
    else:
        await driver.execute_many(sql, values)


async def update_row(driver: Driver, table: Table, row: Mapping[str, Any], key: str = "id") -> None:
    """UPDATE the columns of `row` but its key, in the row whose `key` column equals row[key]."""
    columns = tuple(name for name in row if name != key)
    sql = _update(table.name, columns, key, driver.dialect == "postgresql")
    await driver.fetch(sql, *(_param(driver, row[name]) for name in columns), row[key])


def _param(driver: Driver, value: Any) -> Any:
    return driver.time_param(value) if isinstance(value, datetime) else value


@cache
def _insert(table: str, columns: tuple[str, ...], pg: bool) -> str:
    names = ", ".join(f'"{name}"' for name in columns)
    return f'INSERT INTO "{table}" ({names}) VALUES ({marks(pg, len(columns))})'


@cache
def _update(table: str, columns: tuple[str, ...], key: str, pg: bool) -> str:
    places = marks(pg, len(columns) + 1).split(", ")
    assignments = ", ".join(f'"{name}" = {place}' for name, place in zip(columns, places, strict=False))
    return f'UPDATE "{table}" SET {assignments} WHERE "{key}" = {places[-1]}'
