"""The pieces of SQL the analytics queries share (analytics_repo.py, customer_insights.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, case, column, literal, values
from sqlalchemy.sql.expression import CTE

from mcp_payments.adapters.db.tables import UTCDateTime, payments
from mcp_payments.domain.periods import Bucket

CAPTURED = payments.c.amount_received > 0
# What a payment's customer paid and kept: a dispute took back all that was not refunded.
NET = case((payments.c.disputed, literal(0)), else_=payments.c.amount_received - payments.c.amount_refunded)


def buckets_cte(buckets: Sequence[Bucket], name: str = "b") -> CTE:
    """Time buckets as a VALUES list of UTC boundaries (i, s, e), to join by range."""
    rows = [(i, b.start, b.end) for i, b in enumerate(buckets)]
    table = values(column("i", Integer), column("s", UTCDateTime), column("e", UTCDateTime), name=name)
    return table.data(rows).cte(name)


def in_bucket(created_at: Any, cte: CTE) -> ColumnElement[bool]:
    return and_(created_at >= cte.c.s, created_at < cte.c.e)


def currency_is(col: Any, currency: str | None) -> list[ColumnElement[bool]]:
    return [] if currency is None else [col == currency]


def as_int(value: Any) -> int:
    return int(value or 0)  # PostgreSQL sums BIGINT into NUMERIC
