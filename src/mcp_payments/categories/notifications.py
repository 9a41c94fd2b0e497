"""Notifications: outbound webhooks to endpoints an admin registers, written to an outbox in the transaction of
the change they report and delivered by the deliver_webhooks job."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mcp_payments.adapters.secret_box import FernetBox
from mcp_payments.adapters.webhook_http import HttpTransport
from mcp_payments.categories import Category
from mcp_payments.config import Settings
from mcp_payments.domain.webhooks import Reach
from mcp_payments.server.tools import notifications
from mcp_payments.services.container import Services
from mcp_payments.services.jobs import AnyJob
from mcp_payments.services.notifications.delivery import WebhookSender
from mcp_payments.services.notifications.endpoints import WebhookEndpoints
from mcp_payments.services.notifications.ports import WEBHOOKS
from mcp_payments.services.ports import Repo

if TYPE_CHECKING:
    from mcp_payments.adapters.db.uow import RepositoryFactory


def repositories() -> Mapping[Repo[Any], RepositoryFactory]:
    from mcp_payments.adapters.db.webhooks_repo import SqlWebhooks

    return {WEBHOOKS: SqlWebhooks}


def wire(services: Services, settings: Settings) -> None:
    reach = Reach(settings.webhooks_allow_loopback, settings.webhooks_allow_private)
    box = FernetBox(services.secret_key)
    services.add(WebhookEndpoints(services.clock, services.ids, services.cursors, box, reach))
    services.add(
        WebhookSender(services.clock, services.calls, box, HttpTransport(), reach, settings.webhooks_disable_after)
    )


def jobs(services: Services) -> Sequence[AnyJob]:
    return (services.get(WebhookSender).job(),)


CATEGORY = Category(
    toolset="notifications",
    id_prefixes=("whe", "whd", "msg"),
    wire=wire,
    tools=notifications.register,
    jobs=jobs,
    repositories=repositories,
)
