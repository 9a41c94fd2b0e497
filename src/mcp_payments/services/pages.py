"""Opaque, tamper-evident cursors for list tools.

A cursor is the position of the last row shown, signed with a key of the deployment and bound to the
list it came from: a cursor that was altered, made up, or taken from another list (another wallet's
statement) is refused as invalid_cursor before it reaches a query. Replicas sharing the secret key
accept each other's cursors.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from mcp_payments.domain.errors import DomainError, InvalidCursor
from mcp_payments.domain.text import check_text

T = TypeVar("T")
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_MAC_BYTES = 12
_MAX_POSITION = 2**63 - 1  # positions are row ids and sequence numbers: BIGINT on both databases


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


class Cursors:
    def __init__(self, secret: bytes) -> None:
        self._key = hmac.new(secret, b"mcp-payments cursor", hashlib.sha256).digest()

    def paginate(self, scope: str, rows: list[T], limit: int, position: Callable[[T], str | int]) -> Page[T]:
        """`rows` were fetched with limit + 1; the extra row only says whether there is more.

        The cursor is the `position` of the last row shown, signed for `scope` (the list it pages)."""
        if len(rows) > limit:
            return Page(rows[:limit], self.encode(scope, position(rows[limit - 1])))
        return Page(rows, None)

    def encode(self, scope: str, position: str | int) -> str:
        body = _b64(json.dumps(position).encode())
        return f"{body}.{_b64(self._mac(scope, body))}"

    def decode_str(self, scope: str, cursor: str | None) -> str | None:
        value = self._decode(scope, cursor)
        if value is not None and not isinstance(value, str):
            raise _bad()
        return value

    def decode_int(self, scope: str, cursor: str | None) -> int | None:
        value = self._decode(scope, cursor)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise _bad()
        return value

    def _decode(self, scope: str, cursor: str | None) -> object:
        if cursor is None:
            return None
        body, _, mac = cursor.partition(".")
        try:
            valid = hmac.compare_digest(base64.urlsafe_b64decode(_padded(mac)), self._mac(scope, body))
            value = json.loads(base64.urlsafe_b64decode(_padded(body))) if valid else None
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise _bad() from None
        if not valid:
            raise _bad()
        # Signed by us, so well-formed; checked all the same, since the key may leak and a bad position
        # must never reach a query (a number past 64 bits, a NUL in a text).
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_POSITION:
            return value
        if isinstance(value, str) and len(value) <= 64:
            try:
                check_text("cursor", value)
            except DomainError:
                raise _bad() from None
            return value
        raise _bad()

    def _mac(self, scope: str, body: str) -> bytes:
        return hmac.new(self._key, f"{scope}\n{body}".encode(), hashlib.sha256).digest()[:_MAC_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _padded(text: str) -> bytes:
    return (text + "=" * (-len(text) % 4)).encode()


def _bad() -> InvalidCursor:
    return InvalidCursor(
        "cursor is not one this server issued for this list: pass back `next_cursor` unchanged, or omit it"
    )
