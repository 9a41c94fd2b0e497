"""Outbound webhooks: endpoints, the outbox of events, and their deliveries."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db.driver import Driver
from mcp_payments.adapters.db.jobs_repo import claimable, claiming
from mcp_payments.adapters.db.tables import webhook_deliveries, webhook_endpoints, webhook_events
from mcp_payments.domain.webhooks import DeliveryStatus, EndpointStatus
from mcp_payments.services.notifications.ports import Delivery, Due, Endpoint
from mcp_payments.services.ports import Claim

e, ev, d = webhook_endpoints, webhook_events, webhook_deliveries
_PENDING = DeliveryStatus.PENDING.value
_ENABLED = EndpointStatus.ENABLED.value


def _endpoint_row(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "event_types": json.dumps(list(endpoint.event_types)),
        "description": endpoint.description,
        "secret": endpoint.secret,
        "previous_secret": endpoint.previous_secret,
        "previous_until": endpoint.previous_until,
        "status": endpoint.status.value,
        "disabled_reason": endpoint.disabled_reason,
        "failing_since": endpoint.failing_since,
        "created_by": endpoint.created_by,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
    }


def _endpoint(r: Any) -> Endpoint:
    return Endpoint(
        r.id,
        r.url,
        tuple(json.loads(r.event_types)),
        r.description,
        r.secret,
        r.previous_secret,
        r.previous_until,
        EndpointStatus(r.status),
        r.disabled_reason,
        r.failing_since,
        r.created_by,
        r.created_at,
        r.updated_at,
    )


def _delivery(r: Any) -> Delivery:
    return Delivery(
        r.id,
        r.event_id,
        r.type,
        r.endpoint_id,
        DeliveryStatus(r.status),
        int(r.attempts),
        r.next_attempt_at,
        r.last_attempt_at,
        r.last_status_code,
        r.last_error,
        r.created_at,
        r.updated_at,
    )


def _delivery_row(x: Delivery) -> dict[str, Any]:
    return {
        "id": x.id,
        "event_id": x.event_id,
        "endpoint_id": x.endpoint_id,
        "status": x.status.value,
        "attempts": x.attempts,
        "next_attempt_at": x.next_attempt_at,
        "last_attempt_at": x.last_attempt_at,
        "last_status_code": x.last_status_code,
        "last_error": x.last_error,
        "created_at": x.created_at,
        "updated_at": x.updated_at,
    }


_DELIVERIES = select(d, ev.c.type).join(ev, ev.c.id == d.c.event_id)


class SqlWebhooks:
    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self.conn = conn
        self.pg = driver.dialect == "postgresql"
        # The enabled endpoints' ids and event types, read once per unit of work (a batch of renewals publishes
        # three events per renewal); forgotten when this unit of work changes an endpoint.
        self._enabled: list[tuple[str, list[str]]] | None = None

    async def add_endpoint(self, endpoint: Endpoint) -> None:
        self._enabled = None
        await self.conn.execute(insert(e).values(_endpoint_row(endpoint)))

    async def get_endpoint(self, endpoint_id: str, *, lock: bool = False) -> Endpoint | None:
        query = select(e).where(e.c.id == endpoint_id)
        if lock and self.pg:
            query = query.with_for_update()
        row = (await self.conn.execute(query)).first()
        return None if row is None else _endpoint(row)

    async def update_endpoint(self, endpoint: Endpoint) -> None:
        self._enabled = None
        await self.conn.execute(update(e).where(e.c.id == endpoint.id).values(_endpoint_row(endpoint)))

    async def count_endpoints(self) -> int:
        query = select(func.count()).select_from(e).where(e.c.status != EndpointStatus.DELETED.value)
        return int((await self.conn.execute(query)).scalar_one())

    async def endpoints(self, after: str | None, limit: int) -> list[Endpoint]:
        query = select(e).where(e.c.status != EndpointStatus.DELETED.value)
        if after is not None:
            query = query.where(e.c.id > after)
        rows = await self.conn.execute(query.order_by(e.c.id).limit(limit))
        return [_endpoint(r) for r in rows]

    async def listening(self, event_type: str) -> list[str]:
        # Few endpoints (MAX_ENDPOINTS): their lists are read and matched here rather than kept in a join table.
        if self._enabled is None:
            query = select(e.c.id, e.c.event_types).where(e.c.status == _ENABLED).order_by(e.c.id)
            self._enabled = [(r.id, json.loads(r.event_types)) for r in await self.conn.execute(query)]
        return [endpoint for endpoint, types in self._enabled if event_type in types]

    async def add_event(self, event_id: str, event_type: str, body: str, created_at: datetime) -> None:
        await self.conn.execute(insert(ev).values(id=event_id, type=event_type, body=body, created_at=created_at))

    async def add_deliveries(self, deliveries: list[Delivery]) -> None:
        await self.conn.execute(insert(d), [_delivery_row(x) for x in deliveries])

    async def get_delivery(self, delivery_id: str, *, lock: bool = False) -> Delivery | None:
        query = _DELIVERIES.where(d.c.id == delivery_id)
        if lock and self.pg:
            query = query.with_for_update(of=d)
        row = (await self.conn.execute(query)).first()
        return None if row is None else _delivery(row)

    async def update_delivery(self, delivery: Delivery) -> None:
        await self.conn.execute(update(d).where(d.c.id == delivery.id).values(_delivery_row(delivery)))

    async def cancel_pending(self, endpoint_id: str, now: datetime) -> int:
        result = await self.conn.execute(
            update(d)
            .where(d.c.endpoint_id == endpoint_id, d.c.status == _PENDING)
            .values(status=DeliveryStatus.CANCELED.value, next_attempt_at=None, updated_at=now)
        )
        return int(result.rowcount)

    async def deliveries(
        self, endpoint_id: str | None, status: DeliveryStatus | None, before: str | None, limit: int
    ) -> list[Delivery]:
        query = _DELIVERIES
        if endpoint_id is not None:
            query = query.where(d.c.endpoint_id == endpoint_id)
        if status is not None:
            query = query.where(d.c.status == status.value)
        if before is not None:
            query = query.where(d.c.id < before)
        rows = await self.conn.execute(query.order_by(d.c.id.desc()).limit(limit))
        return [_delivery(r) for r in rows]

    def _due(self, claim: Claim) -> Any:
        return (
            (d.c.status == _PENDING)
            & (d.c.next_attempt_at <= claim.now)
            & (e.c.status == _ENABLED)
            & claimable(claim, d.c.id)
        )

    async def claim_due(self, claim: Claim) -> list[Due]:
        query = (
            select(d, ev.c.type, ev.c.body, e)
            .join(ev, ev.c.id == d.c.event_id)
            .join(e, e.c.id == d.c.endpoint_id)
            .where(self._due(claim))
            .order_by(d.c.next_attempt_at, d.c.id)
        )
        query = claiming(query, claim, self.pg)
        if self.pg:
            query = query.with_for_update(of=d, skip_locked=True)  # the delivery only: endpoints are shared
        rows = (await self.conn.execute(query)).all()
        dues = []
        for r in rows:
            m = r._mapping
            delivery = Delivery(
                m[d.c.id],
                m[d.c.event_id],
                m[ev.c.type],
                m[d.c.endpoint_id],
                DeliveryStatus(m[d.c.status]),
                int(m[d.c.attempts]),
                m[d.c.next_attempt_at],
                m[d.c.last_attempt_at],
                m[d.c.last_status_code],
                m[d.c.last_error],
                m[d.c.created_at],
                m[d.c.updated_at],
            )
            endpoint = _endpoint(_Named({c.name: m[c] for c in e.c}))
            dues.append(Due(delivery, endpoint, m[ev.c.body].encode()))
        return dues

    async def oldest_due(self, claim: Claim) -> datetime | None:
        query = select(func.min(d.c.next_attempt_at)).join(e, e.c.id == d.c.endpoint_id).where(self._due(claim))
        oldest: datetime | None = (await self.conn.execute(query)).scalar_one()
        return oldest


class _Named:
    """Attribute access over a mapping (an endpoint's columns out of a joined row)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
