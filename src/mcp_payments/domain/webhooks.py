"""Outbound webhooks, the pure part: event types, the retry schedule, Standard Webhooks signatures, and which
URLs and addresses a delivery may go to (server-side request forgery).

Signatures follow Standard Webhooks (standardwebhooks.com): the secret is `whsec_<base64 key>`, and each
signature is `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`; while a rotated secret is in its grace
period both sign, space-separated in one header, and a receiver accepts either.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import random
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from mcp_payments.domain.errors import InvalidInput

# The events an endpoint may subscribe to. Adding one is a line here and a publish() where it happens.
EVENT_TYPES: tuple[str, ...] = (
    "payment.succeeded",
    "payment.failed",
    "refund.succeeded",
    "dispute.created",
    "subscription.created",
    "subscription.canceled",
    "invoice.created",
    "invoice.paid",
    "invoice.payment_failed",
    "approval.requested",
    "approval.decided",
    "compliance.flag.created",
)
# The payment core's own event names (services/payments/books.py) that are published, as their webhook type.
PAYMENT_EVENTS: dict[str, str] = {
    "payment.succeeded": "payment.succeeded",
    "payment.failed": "payment.failed",
    "refund.succeeded": "refund.succeeded",
    "payment.disputed": "dispute.created",
}

# Attempt n waits SCHEDULE[n - 1] after the one before it failed (the first goes at once); after the last, the
# delivery has failed. Each wait is stretched by up to JITTER so that many failures do not retry in step.
SCHEDULE: tuple[timedelta, ...] = (
    timedelta(0),
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
JITTER = 0.1
TIMEOUT_SECONDS = 15.0
MAX_BODY = 20_000  # bytes: a payload is kept under 20 kB
SECRET_PREFIX = "whsec_"  # noqa: S105  # the prefix of every secret, not a secret
MAX_URL = 2048
MAX_EVENT_TYPES = len(EVENT_TYPES)


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # due at next_attempt_at
    DELIVERED = "delivered"
    FAILED = "failed"  # every attempt failed, or the endpoint answered 410
    CANCELED = "canceled"  # its endpoint was deleted


class EndpointStatus(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"  # it answered 410, or failed for too long: nothing is sent to it
    DELETED = "deleted"


def next_attempt(attempts: int, now: datetime, rng: random.Random | None = None) -> datetime | None:
    """When to try again after `attempts` attempts have failed; None once the schedule is spent."""
    if attempts >= len(SCHEDULE):
        return None
    wait = SCHEDULE[attempts]
    return now + wait * (1 + (rng or random).uniform(0, JITTER))


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def key_of(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(keys: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature header: one `v1,<base64>` per secret, space-separated."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(key_of(k), signed, hashlib.sha256).digest()).decode() for k in keys
    )


def check_event_types(types: Iterable[str]) -> tuple[str, ...]:
    """The event types, sorted and unique; an unknown one is refused with the list of known ones."""
    chosen = tuple(sorted(set(types)))
    unknown = [t for t in chosen if t not in EVENT_TYPES]
    if unknown:
        shown = ", ".join(repr(t[:60]) for t in unknown[:5])
        raise InvalidInput(f"unknown event type(s) {shown}; choose from {', '.join(EVENT_TYPES)}")
    if not chosen:
        raise InvalidInput(f"give at least one event type, from {', '.join(EVENT_TYPES)}")
    return chosen


@dataclass(frozen=True, slots=True)
class Reach:
    """Where deliveries may go: HTTPS to public addresses, plus what the deployment allows."""

    allow_loopback: bool = False  # development: http:// or https:// to 127.0.0.1, ::1 or localhost
    allow_private: bool = False  # private, link-local, shared and reserved ranges (a receiver on the LAN)


@dataclass(frozen=True, slots=True)
class Target:
    scheme: str
    host: str  # as written, lower case, without brackets
    port: int


def check_url(url: str, reach: Reach) -> Target:
    """The URL's parts, if a delivery may be addressed to it; every address it resolves to is checked again at each
    delivery (check_address), since DNS can change between now and then."""
    if len(url) > MAX_URL or not url.isascii() or any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise InvalidInput(
            f"a webhook URL is at most {MAX_URL} printable ASCII characters with no spaces (an international "
            "domain name in its xn-- form, other characters percent-encoded)"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInput("the webhook URL cannot be parsed: give e.g. https://example.com/webhooks") from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise InvalidInput("a webhook URL starts with https:// and names a host, e.g. https://example.com/webhooks")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("a webhook URL may not carry a user name or password: the signature authenticates us")
    if parts.fragment:
        raise InvalidInput("a webhook URL has no #fragment")
    loopback = is_loopback_name(host)
    if parts.scheme == "http" and not (loopback and reach.allow_loopback):
        raise InvalidInput(
            "webhook URLs must use https://; plain http:// is allowed only to loopback in development "
            "(MCP_PAYMENTS_WEBHOOKS_ALLOW_LOOPBACK=1)"
        )
    literal = ip_literal(host)
    if literal is not None:
        check_address(literal, reach)
    elif loopback and not reach.allow_loopback:
        raise InvalidInput(_refusal(host, "loopback"))
    return Target(parts.scheme, host, port or (443 if parts.scheme == "https" else 80))


def is_loopback_name(host: str) -> bool:
    literal = ip_literal(host)
    return literal.is_loopback if literal is not None else host == "localhost" or host.endswith(".localhost")


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    # ::ffff:10.0.0.1 reaches 10.0.0.1: judge the IPv4 address it wraps.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def check_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address, reach: Reach) -> None:
    """Refuse an address a delivery may not connect to."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        if not reach.allow_loopback:
            raise InvalidInput(_refusal(str(address), "loopback"))
        return
    if address.is_multicast or address.is_unspecified:
        raise InvalidInput(_refusal(str(address), "multicast or unspecified"))
    if not address.is_global and not reach.allow_private:
        raise InvalidInput(_refusal(str(address), "private, link-local or reserved"))


def _refusal(host: str, kind: str) -> str:
    return f"webhook deliveries may not go to {host[:100]} ({kind} address): give a public https:// URL" + (
        "; loopback is allowed in development with MCP_PAYMENTS_WEBHOOKS_ALLOW_LOOPBACK=1"
        if kind == "loopback"
        else "; private ranges are allowed with MCP_PAYMENTS_WEBHOOKS_ALLOW_PRIVATE=1"
    )
