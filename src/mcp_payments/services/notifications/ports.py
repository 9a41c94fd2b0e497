"""The notifications category's ports: its repository (`uow.repo(WEBHOOKS)`), the box that seals endpoint secrets,
and the HTTP transport deliveries go out on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mcp_payments.domain.webhooks import DeliveryStatus, EndpointStatus, Reach
from mcp_payments.services.ports import Claim, Repo


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    url: str
    event_types: tuple[str, ...]
    description: str | None
    secret: str  # sealed (SecretBox): never shown after creation or rotation
    previous_secret: str | None  # sealed; signs too until previous_until
    previous_until: datetime | None
    status: EndpointStatus
    disabled_reason: str | None
    failing_since: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    event_id: str
    event_type: str
    endpoint_id: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Due:
    """A delivery the job claimed, with what sending it takes."""

    delivery: Delivery
    endpoint: Endpoint
    body: bytes


class WebhookRepository(Protocol):
    async def add_endpoint(self, endpoint: Endpoint) -> None: ...
    async def get_endpoint(self, endpoint_id: str, *, lock: bool = False) -> Endpoint | None: ...
    async def update_endpoint(self, endpoint: Endpoint) -> None: ...
    async def count_endpoints(self) -> int:
        """Endpoints not deleted."""
        ...

    async def endpoints(self, after: str | None, limit: int) -> list[Endpoint]:
        """Endpoints not deleted, oldest first."""
        ...

    async def listening(self, event_type: str) -> list[str]:
        """The ids of the enabled endpoints subscribed to `event_type`."""
        ...

    async def add_event(self, event_id: str, event_type: str, body: str, created_at: datetime) -> None: ...
    async def add_deliveries(self, deliveries: list[Delivery]) -> None: ...
    async def get_delivery(self, delivery_id: str, *, lock: bool = False) -> Delivery | None: ...
    async def update_delivery(self, delivery: Delivery) -> None: ...
    async def cancel_pending(self, endpoint_id: str, now: datetime) -> int: ...
    async def deliveries(
        self, endpoint_id: str | None, status: DeliveryStatus | None, before: str | None, limit: int
    ) -> list[Delivery]:
        """Newest first."""
        ...

    async def claim_due(self, claim: Claim) -> list[Due]:
        """Pending deliveries due by claim.now to enabled endpoints, oldest due first, locked."""
        ...

    async def oldest_due(self, claim: Claim) -> datetime | None: ...


class SecretBox(Protocol):
    """Seals secrets that must be used again (an endpoint's signing secret) with a key kept out of the database."""

    def seal(self, secret: str) -> str: ...
    def open(self, sealed: str) -> str: ...


@dataclass(frozen=True, slots=True)
class Response:
    status_code: int | None  # None: no HTTP answer (refused, timed out, unreachable)
    error: str | None = None  # why, when it failed: safe to show (no secret, no body)


class Transport(Protocol):
    """POSTs a delivery: resolves the host, refuses addresses `reach` does not allow, follows no redirect."""

    async def post(self, url: str, headers: Mapping[str, str], body: bytes, reach: Reach) -> Response: ...


WEBHOOKS: Repo[WebhookRepository] = Repo("webhooks")
