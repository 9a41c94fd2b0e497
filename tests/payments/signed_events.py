"""Provider events signed the way the provider signs them, for the inbound event endpoint."""

from __future__ import annotations

import json
import uuid
from typing import Any

from mcp_payments.domain import signatures

SECRET_KEY = "test-fingerprint-key-0123456789abcdef"
# The signing secret in use, and the one being rotated out (still accepted).
WEBHOOK_SECRET = "whsec_current_test_secret"
OLD_WEBHOOK_SECRET = "whsec_previous_test_secret"
UNKNOWN_SECRET = "whsec_not_configured_anywhere"
SIGNATURE_HEADER = "Payments-Signature"
PATH = "/provider/events"


def event_body(event_type: str, data: dict[str, Any], *, created: int, event_id: str | None = None) -> bytes:
    event = {"id": event_id or f"evt_{uuid.uuid4().hex}", "type": event_type, "created": created, "data": data}
    return json.dumps(event, separators=(",", ":")).encode()


def signature(body: bytes, timestamp: int, *secrets: str) -> str:
    return signatures.header(list(secrets or (WEBHOOK_SECRET,)), timestamp, body)


def event_id(body: bytes) -> str:
    return str(json.loads(body)["id"])
