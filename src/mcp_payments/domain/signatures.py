"""Signed provider events: header `t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`.

Several v1 values may be present (one per secret while a secret is rotated); any match is
enough. Comparisons are constant-time and the timestamp must be within the tolerance.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from mcp_payments.domain.errors import InvalidSignature

TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return mac.hexdigest()


def header(secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    return ",".join([f"t={timestamp}", *(f"v1={sign(s, timestamp, body)}" for s in secrets)])


def verify(
    signature_header: str, body: bytes, secrets: Sequence[str], now: int, tolerance: int = TOLERANCE_SECONDS
) -> int:
    """The event's timestamp when the header carries a valid signature of `body`; else InvalidSignature."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in signature_header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isascii() and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise InvalidSignature("the signature header must look like t=<unix seconds>,v1=<hex hmac>")
    if abs(now - timestamp) > tolerance:
        raise InvalidSignature(f"the event's timestamp is more than {tolerance} s from now: resend a fresh event")
    expected = [sign(s, timestamp, body) for s in secrets]
    # Compare every pair without stopping early, so timing says nothing about which part matched.
    matched = False
    for candidate in candidates:
        for exp in expected:
            matched |= hmac.compare_digest(candidate.encode(), exp.encode())
    if not matched:
        raise InvalidSignature("no v1 signature matches: check the webhook signing secret")
    return timestamp
