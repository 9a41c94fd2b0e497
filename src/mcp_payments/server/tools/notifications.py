"""Notification tools: webhook endpoints, the deliveries made to them, and replays.

Writes need role admin: an endpoint decides where payment data leaves the deployment and holds a secret that signs
for it, the same weight as an API key; replaying resends that data, so it sits with them. Reads are for every
role, and show no secret and no query string of an endpoint's URL (where receivers often put a token)."""

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, Field

from mcp_payments.domain.webhooks import EVENT_TYPES, MAX_URL, DeliveryStatus
from mcp_payments.server.callers import current_caller
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools.models import Mutation
from mcp_payments.server.tools.params import FREE_TEXT, ID_CHARS, Cursor, Limit
from mcp_payments.services.commands import Kind
from mcp_payments.services.container import Services
from mcp_payments.services.notifications.endpoints import WebhookEndpoints
from mcp_payments.services.notifications.ports import Delivery, Endpoint
from mcp_payments.services.ports import UnitOfWork

TOOLSET = "notifications"

EndpointId = Annotated[
    str,
    Field(pattern=f"^whe_{ID_CHARS}$", max_length=44, description="A webhook endpoint id, e.g. whe_01JB..."),
]
DeliveryId = Annotated[
    str,
    Field(pattern=f"^whd_{ID_CHARS}$", max_length=44, description="A webhook delivery id, e.g. whd_01JB..."),
]
EventType = Annotated[str, Field(max_length=60, description=f"One of: {', '.join(EVENT_TYPES)}.")]


def shown_url(url: str) -> str:
    """The URL without its query string, which may hold the receiver's token."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "[hidden]" if parts.query else "", ""))


class EndpointOut(BaseModel):
    id: str
    url: str = Field(description="Where deliveries go; a query string is shown as ?[hidden].")
    event_types: list[str]
    description: str | None
    status: Literal["enabled", "disabled"] = Field(
        description="disabled: it answered 410 Gone, or every delivery failed for days; nothing more is sent to it."
    )
    disabled_reason: str | None
    previous_secret_until: datetime | None = Field(
        description="After a rotation, the old secret also signs until then; null: only the current one signs."
    )
    failing_since: datetime | None = Field(description="The first failure since its last successful delivery.")
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, e: Endpoint) -> "EndpointOut":
        return cls(
            id=e.id,
            url=shown_url(e.url),
            event_types=list(e.event_types),
            description=e.description,
            status="enabled" if e.status.value == "enabled" else "disabled",
            disabled_reason=e.disabled_reason,
            previous_secret_until=e.previous_until,
            failing_since=e.failing_since,
            created_by=e.created_by,
            created_at=e.created_at,
        )


class EndpointSecretResult(Mutation):
    endpoint: EndpointOut
    secret: str | None = Field(
        default=None,
        description="The signing secret (whsec_...), shown this once: store it in the receiver now. null on a "
        "replay of the same idempotency key: call rotate_webhook_secret for a new one.",
    )

    def entity_ids(self) -> tuple[str, ...]:
        return (self.endpoint.id,)

    def stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"secret"})


class EndpointDeleted(Mutation):
    endpoint_id: str
    canceled_deliveries: int = Field(description="Deliveries to it that were still pending, now canceled.")

    def entity_ids(self) -> tuple[str, ...]:
        return (self.endpoint_id,)


class EndpointEnabled(Mutation):
    endpoint: EndpointOut
    was_disabled: bool = Field(description="False: it was enabled already, and nothing changed.")

    def entity_ids(self) -> tuple[str, ...]:
        return (self.endpoint.id,)


class EndpointList(BaseModel):
    endpoints: list[EndpointOut] = Field(description="Oldest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class DeliveryOut(BaseModel):
    id: str
    webhook_id: str = Field(description="The webhook-id header: the same on every attempt and replay of the event.")
    event_type: str
    endpoint_id: str
    status: Literal["pending", "delivered", "failed", "canceled"]
    attempts: int
    next_attempt_at: datetime | None = Field(description="When it is tried next, while pending.")
    last_attempt_at: datetime | None
    last_status_code: int | None = Field(description="The HTTP status of the last answer; null: no answer.")
    last_error: str | None
    created_at: datetime

    @classmethod
    def of(cls, d: Delivery) -> "DeliveryOut":
        return cls(
            id=d.id,
            webhook_id=d.event_id,
            event_type=d.event_type,
            endpoint_id=d.endpoint_id,
            status=d.status.value,
            attempts=d.attempts,
            next_attempt_at=d.next_attempt_at,
            last_attempt_at=d.last_attempt_at,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            created_at=d.created_at,
        )


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class DeliveryResult(Mutation):
    delivery: DeliveryOut

    def entity_ids(self) -> tuple[str, ...]:
        return (self.delivery.id,)


def register(box: Toolbox, app: Services) -> None:
    endpoints = app.get(WebhookEndpoints)

    @box.command(kind=Kind.ADMIN, toolset=TOOLSET, title="Create webhook endpoint")
    async def create_webhook_endpoint(
        uow: UnitOfWork,
        url: Annotated[
            str,
            Field(
                min_length=1,
                max_length=MAX_URL,
                description="Where to POST events: an https:// URL on a public address (http:// to loopback only "
                "where the deployment allows it, for development).",
            ),
        ],
        event_types: Annotated[
            list[EventType], Field(min_length=1, max_length=len(EVENT_TYPES), description="The events to send.")
        ],
        description: Annotated[
            str | None, Field(default=None, max_length=200, description="What it is for."), FREE_TEXT
        ] = None,
    ) -> EndpointSecretResult:
        """Register a URL to receive signed events (Standard Webhooks: webhook-id, webhook-timestamp and
        webhook-signature headers). Returns the endpoint and its signing secret, shown only this once; verify each
        delivery with it (any Standard Webhooks library, or the README's example). Failed deliveries are retried for
        about a day and a half."""
        endpoint, secret = await endpoints.create(uow, url, event_types, description, current_caller().principal)
        return EndpointSecretResult(endpoint=EndpointOut.of(endpoint), secret=secret)

    @box.query(toolset=TOOLSET, title="List webhook endpoints", snapshot=False)
    async def list_webhook_endpoints(uow: UnitOfWork, limit: Limit = 20, cursor: Cursor = None) -> EndpointList:
        """List the webhook endpoints, enabled and disabled, oldest first; secrets are never shown."""
        page = await endpoints.list(uow, cursor, limit)
        return EndpointList(endpoints=[EndpointOut.of(e) for e in page.items], next_cursor=page.next_cursor)

    @box.command(kind=Kind.ADMIN, toolset=TOOLSET, title="Delete webhook endpoint", destructive=True)
    async def delete_webhook_endpoint(uow: UnitOfWork, endpoint_id: EndpointId) -> EndpointDeleted:
        """Stop sending to an endpoint for good: its pending deliveries are canceled, its history stays."""
        deleted, canceled = await endpoints.delete(uow, endpoint_id)
        return EndpointDeleted(endpoint_id=deleted.id, canceled_deliveries=canceled)

    @box.command(kind=Kind.ADMIN, toolset=TOOLSET, title="Enable webhook endpoint")
    async def enable_webhook_endpoint(uow: UnitOfWork, endpoint_id: EndpointId) -> EndpointEnabled:
        """Turn a disabled endpoint back on (disabled after a 410 Gone or days of failed deliveries) once its
        receiver is fixed: its pending deliveries go out again at once, and new events are sent to it. Enabling an
        enabled endpoint changes nothing. replay_webhook resends the deliveries that failed meanwhile."""
        endpoint, was_disabled = await endpoints.enable(uow, endpoint_id)
        return EndpointEnabled(endpoint=EndpointOut.of(endpoint), was_disabled=was_disabled)

    @box.command(kind=Kind.ADMIN, toolset=TOOLSET, title="Rotate webhook secret")
    async def rotate_webhook_secret(
        uow: UnitOfWork,
        endpoint_id: EndpointId,
        grace_hours: Annotated[
            int,
            Field(
                default=24,
                strict=True,
                ge=0,
                le=168,
                description="How long the old secret keeps signing too (both signatures in one header), so the "
                "receiver can switch without losing deliveries; 0 retires it now.",
            ),
        ] = 24,
    ) -> EndpointSecretResult:
        """Give an endpoint a new signing secret, shown only this once. During the grace period every delivery
        carries a signature by each secret, so the receiver verifies with either."""
        endpoint, secret = await endpoints.rotate(uow, endpoint_id, timedelta(hours=grace_hours))
        return EndpointSecretResult(endpoint=EndpointOut.of(endpoint), secret=secret)

    @box.query(toolset=TOOLSET, title="List webhook deliveries", snapshot=False)
    async def list_webhook_deliveries(
        uow: UnitOfWork,
        endpoint_id: Annotated[EndpointId | None, Field(default=None, description="Only to this endpoint.")] = None,
        status: Annotated[Literal["pending", "delivered", "failed", "canceled"] | None, Field(default=None)] = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> DeliveryList:
        """List deliveries of events to endpoints, newest first: status, attempts, the last answer, and when the
        next attempt is due. Use it to see why a receiver missed an event, then replay_webhook."""
        wanted = None if status is None else DeliveryStatus(status)
        page = await endpoints.deliveries(uow, endpoint_id, wanted, cursor, limit)
        return DeliveryList(deliveries=[DeliveryOut.of(d) for d in page.items], next_cursor=page.next_cursor)

    @box.command(kind=Kind.ADMIN, toolset=TOOLSET, title="Replay webhook")
    async def replay_webhook(uow: UnitOfWork, delivery_id: DeliveryId) -> DeliveryResult:
        """Send a delivery's event to its endpoint again, now, as a new delivery with the same webhook-id (so a
        receiver that deduplicates by it sees one event). The endpoint must be enabled."""
        return DeliveryResult(delivery=DeliveryOut.of(await endpoints.replay(uow, delivery_id)))
