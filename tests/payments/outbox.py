"""The sandbox provider's outbox as a test sees it: the events it queued, and taking them out by hand."""

from __future__ import annotations

import json

from sqlalchemy import text

from mcp_payments.adapters.providers.sandbox import SandboxProvider
from mcp_payments.services.ports import PROVIDER_OUTBOX, OutboundEvent, UnitOfWork
from tests.conftest import Stack
from tests.payments.conftest import engine


async def queued(stack: Stack) -> list[OutboundEvent]:
    """The events waiting in the outbox, in the order they were queued."""
    async with engine(stack).connect() as conn:
        rows = await conn.execute(text("SELECT event_id, type, body, created_at FROM provider_outbox ORDER BY seq"))
        return [OutboundEvent(r.event_id, r.type, r.body.encode(), r.created_at) for r in rows]


async def queued_ids(stack: Stack) -> list[str]:
    return [event.id for event in await queued(stack)]


def payment_of(event: OutboundEvent) -> str:
    return str(json.loads(event.body)["data"]["payment_id"])


async def take_queued(stack: Stack) -> list[tuple[bytes, str]]:
    """What due work would deliver, signed now as the sandbox sends it, and taken out of the outbox so that due
    work does not deliver it."""
    events = await queued(stack)

    async def take(uow: UnitOfWork) -> None:
        for event in events:
            await uow.repo(PROVIDER_OUTBOX).delivered(event.id)

    await stack.services.calls.write(take)
    provider = stack.services.get(SandboxProvider)
    return [provider.signed(event) for event in events]
