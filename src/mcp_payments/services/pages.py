"""Opaque cursors for list tools: base64url of a small JSON position."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from mcp_payments.domain.errors import InvalidCursor

T = TypeVar("T")
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode(position: str | int) -> str:
    raw = json.dumps({"after": position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_str(cursor: str | None) -> str | None:
    value = _decode(cursor)
    if value is not None and not isinstance(value, str):
        raise _bad()
    return value


def decode_int(cursor: str | None) -> int | None:
    value = _decode(cursor)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise _bad()
    return value


def _decode(cursor: str | None) -> object:
    if cursor is None:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _bad() from None
    if not isinstance(data, dict) or "after" not in data:
        raise _bad()
    return data["after"]


def _bad() -> InvalidCursor:
    return InvalidCursor("cursor is not one this server issued: pass back `next_cursor` unchanged, or omit it")


def paginate(rows: list[T], limit: int, position: Callable[[T], str | int]) -> Page[T]:
    """`rows` were fetched with limit + 1; the extra row only says whether there is more.

    The cursor is the `position` of the last row shown."""
    if len(rows) > limit:
        return Page(rows[:limit], encode(position(rows[limit - 1])))
    return Page(rows, None)
