"""Inbound provider events: verify the signature, deduplicate by event id, apply, record.

Nothing is written for an event whose signature does not verify. Events may arrive twice or out
of order: a duplicate is acknowledged and ignored; an event whose target is not known yet stays
pending and is retried by due work.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mcp_payments.domain import signatures
from mcp_payments.domain.errors import InvalidInput
from mcp_payments.services.payments.provider_events import PaymentEventRouter
from mcp_payments.services.ports import PROVIDER_EVENTS, Claim, Clock, InboundEvent, UnitOfWork

MAX_BODY = 64 * 1024
MAX_ATTEMPTS = 20


class EventService:
    def __init__(self, clock: Clock, secrets: Sequence[str], payments: PaymentEventRouter) -> None:
        self.clock = clock
        self.secrets = list(secrets)
        self.payments = payments

    def verify(self, body: bytes, signature_header: str) -> dict[str, Any]:
        """The event, once its signature and shape check out. Runs before any write."""
        if len(body) > MAX_BODY:
            raise InvalidInput(f"event body is larger than {MAX_BODY} bytes")
        signatures.verify(signature_header, body, self.secrets, int(self.clock.now().timestamp()))
        try:
            event = json.loads(body)
        except ValueError:
            raise InvalidInput("event body is not JSON") from None
        if not (
            isinstance(event, dict)
            and isinstance(event.get("id"), str)
            and isinstance(event.get("type"), str)
            and isinstance(event.get("data"), dict)
            and 0 < len(event["id"]) <= 100
        ):
            raise InvalidInput("event must be a JSON object with string id and type and an object data")
        return event

    async def receive(self, uow: UnitOfWork, event: dict[str, Any]) -> str:
        now = self.clock.now()
        if not await uow.repo(PROVIDER_EVENTS).record(event["id"], event["type"][:60], event, now):
            return "duplicate"
        status = await self.payments.apply(uow, event["type"], event["data"])
        await uow.repo(PROVIDER_EVENTS).mark(event["id"], status, now)
        return status

    @staticmethod
    async def pending(uow: UnitOfWork, claim: Claim) -> list[InboundEvent]:
        """Events whose target was not known when they arrived, claimed (the retry_provider_events job)."""
        return await uow.repo(PROVIDER_EVENTS).claim_pending(claim)

    async def retry(self, uow: UnitOfWork, event: InboundEvent) -> list[str] | None:
        """Apply a pending event whose target may have arrived: what it changed, or None while it stays pending.
        An event that never finds its target is given up (ignored) after MAX_ATTEMPTS."""
        status = await self.payments.apply(uow, event.type, event.payload["data"])
        if status == "pending" and event.attempts + 1 >= MAX_ATTEMPTS:
            status = "ignored"
        await uow.repo(PROVIDER_EVENTS).mark(event.id, status, self.clock.now())
        return None if status == "pending" else processed(event.payload, status)

    @staticmethod
    async def oldest_pending(uow: UnitOfWork, claim: Claim) -> datetime | None:
        return await uow.repo(PROVIDER_EVENTS).oldest_pending(claim)


def processed(event: dict[str, Any], status: str) -> list[str]:
    """What a received event changed, for its audit record: the event, when it was applied."""
    return [event["id"]] if status == "processed" else []
