"""Webhook endpoints and their deliveries as the tools manage them; and publish(), which writes an event to the
outbox in the transaction of the change it reports."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from mcp_payments.domain.errors import InvalidInput, InvalidStateTransition, WebhookDeliveryNotFound
from mcp_payments.domain.errors import WebhookEndpointNotFound as EndpointNotFound
from mcp_payments.domain.text import check_text
from mcp_payments.domain.webhooks import (
    MAX_BODY,
    DeliveryStatus,
    EndpointStatus,
    Reach,
    check_event_types,
    check_url,
    new_secret,
)
from mcp_payments.services.notifications.ports import WEBHOOKS, Delivery, Endpoint, SecretBox
from mcp_payments.services.pages import Cursors, Page
from mcp_payments.services.ports import Clock, Ids, UnitOfWork

MAX_ENDPOINTS = 50  # every event is written once per listening endpoint: this bounds what one payment writes
MAX_GRACE = timedelta(days=7)


class WebhookEndpoints:
    def __init__(self, clock: Clock, ids: Ids, cursors: Cursors, box: SecretBox, reach: Reach) -> None:
        self.clock = clock
        self.ids = ids
        self.cursors = cursors
        self.box = box
        self.reach = reach

    async def create(
        self, uow: UnitOfWork, url: str, event_types: list[str], description: str | None, principal: str
    ) -> tuple[Endpoint, str]:
        """The new endpoint and its secret, in the clear this once."""
        check_url(url, self.reach)
        types = check_event_types(event_types)
        if description is not None:
            check_text("description", description)
        repo = uow.repo(WEBHOOKS)
        if await repo.count_endpoints() >= MAX_ENDPOINTS:
            raise InvalidInput(
                f"this deployment has {MAX_ENDPOINTS} webhook endpoints already: delete one you no longer use "
                "(list_webhook_endpoints) before adding another"
            )
        now, secret = self.clock.now(), new_secret()
        endpoint = Endpoint(
            self.ids.new("whe"),
            url,
            types,
            description,
            self.box.seal(secret),
            None,
            None,
            EndpointStatus.ENABLED,
            None,
            None,
            principal,
            now,
            now,
        )
        await repo.add_endpoint(endpoint)
        return endpoint, secret

    async def get(self, uow: UnitOfWork, endpoint_id: str, *, lock: bool = False) -> Endpoint:
        endpoint = await uow.repo(WEBHOOKS).get_endpoint(endpoint_id, lock=lock)
        if endpoint is None or endpoint.status is EndpointStatus.DELETED:
            raise EndpointNotFound(
                f"webhook endpoint {endpoint_id} does not exist: call list_webhook_endpoints for the ids",
                endpoint_id=endpoint_id,
            )
        return endpoint

    async def list(self, uow: UnitOfWork, cursor: str | None, limit: int) -> Page[Endpoint]:
        rows = await uow.repo(WEBHOOKS).endpoints(self.cursors.decode_str("webhook_endpoints", cursor), limit + 1)
        return self.cursors.paginate("webhook_endpoints", rows, limit, lambda e: e.id)

    async def delete(self, uow: UnitOfWork, endpoint_id: str) -> tuple[Endpoint, int]:
        """The endpoint, deleted, and how many of its pending deliveries were canceled."""
        endpoint = await self.get(uow, endpoint_id, lock=True)
        now = self.clock.now()
        deleted = replace(endpoint, status=EndpointStatus.DELETED, previous_secret=None, updated_at=now)
        await uow.repo(WEBHOOKS).update_endpoint(deleted)
        return deleted, await uow.repo(WEBHOOKS).cancel_pending(endpoint.id, now)

    async def enable(self, uow: UnitOfWork, endpoint_id: str) -> tuple[Endpoint, bool]:
        """The endpoint, enabled again after a 410 or days of failures, and whether it was disabled. Deliveries to
        it that were still pending are due again at once; the failure clock starts afresh."""
        endpoint = await self.get(uow, endpoint_id, lock=True)
        if endpoint.status is EndpointStatus.ENABLED:
            return endpoint, False
        # Checked again: a URL allowed when it was created may point where the deployment no longer allows.
        check_url(endpoint.url, self.reach)
        enabled = replace(
            endpoint,
            status=EndpointStatus.ENABLED,
            disabled_reason=None,
            failing_since=None,
            updated_at=self.clock.now(),
        )
        await uow.repo(WEBHOOKS).update_endpoint(enabled)
        return enabled, True

    async def rotate(self, uow: UnitOfWork, endpoint_id: str, grace: timedelta) -> tuple[Endpoint, str]:
        """A new secret (in the clear this once); the one it replaces still signs for `grace`."""
        if not timedelta(0) <= grace <= MAX_GRACE:
            raise InvalidInput(f"the grace period is between 0 and {MAX_GRACE.days * 24} hours")
        endpoint = await self.get(uow, endpoint_id, lock=True)
        now, secret = self.clock.now(), new_secret()
        rotated = replace(
            endpoint,
            secret=self.box.seal(secret),
            previous_secret=endpoint.secret if grace else None,
            previous_until=now + grace if grace else None,
            updated_at=now,
        )
        await uow.repo(WEBHOOKS).update_endpoint(rotated)
        return rotated, secret

    async def deliveries(
        self, uow: UnitOfWork, endpoint_id: str | None, status: DeliveryStatus | None, cursor: str | None, limit: int
    ) -> Page[Delivery]:
        if endpoint_id is not None:
            await self.get(uow, endpoint_id)
        before = self.cursors.decode_str("webhook_deliveries", cursor)
        rows = await uow.repo(WEBHOOKS).deliveries(endpoint_id, status, before, limit + 1)
        return self.cursors.paginate("webhook_deliveries", rows, limit, lambda d: d.id)

    async def replay(self, uow: UnitOfWork, delivery_id: str) -> Delivery:
        """A new delivery of the same event (the same webhook-id) to the same endpoint, due now."""
        original = await uow.repo(WEBHOOKS).get_delivery(delivery_id)
        if original is None:
            raise WebhookDeliveryNotFound(
                f"webhook delivery {delivery_id} does not exist: call list_webhook_deliveries for the ids",
                delivery_id=delivery_id,
            )
        endpoint = await self.get(uow, original.endpoint_id)
        if endpoint.status is not EndpointStatus.ENABLED:
            raise InvalidStateTransition(
                f"webhook endpoint {endpoint.id} is disabled ({endpoint.disabled_reason}): nothing is sent to it; "
                "call enable_webhook_endpoint once the receiver is fixed, then replay",
                endpoint_id=endpoint.id,
                status=endpoint.status.value,
            )
        now = self.clock.now()
        again = Delivery(
            self.ids.new("whd"),
            original.event_id,
            original.event_type,
            endpoint.id,
            DeliveryStatus.PENDING,
            0,
            now,
            None,
            None,
            None,
            now,
            now,
        )
        await uow.repo(WEBHOOKS).add_deliveries([again])
        return again


async def publish(uow: UnitOfWork, ids: Ids, now: datetime, event_type: str, data: dict[str, Any]) -> None:
    """Write `event_type` to the outbox for every endpoint listening for it, in the caller's transaction: a change
    rolled back sends nothing, and one committed is sent even if the process dies next."""
    repo = uow.repo(WEBHOOKS)
    listening = await repo.listening(event_type)
    if not listening:
        return
    event_id = ids.new("msg")
    body = _body(event_type, now, data)
    await repo.add_event(event_id, event_type, body, now)
    await repo.add_deliveries(
        [
            Delivery(
                ids.new("whd"),
                event_id,
                event_type,
                endpoint,
                DeliveryStatus.PENDING,
                0,
                now,
                None,
                None,
                None,
                now,
                now,
            )
            for endpoint in listening
        ]
    )


def _body(event_type: str, now: datetime, data: dict[str, Any]) -> str:
    body = json.dumps({"type": event_type, "timestamp": now.isoformat(), "data": data}, separators=(",", ":"))
    if len(body.encode()) >= MAX_BODY:
        # Payloads stay under 20 kB: past that, the receiver gets the ids and fetches the rest by tool.
        kept = {k: v for k, v in data.items() if k in ("id", "object", "payment_id", "refund_id")}
        body = json.dumps(
            {"type": event_type, "timestamp": now.isoformat(), "data": {**kept, "truncated": True}},
            separators=(",", ":"),
        )
    return body
