"""Wallets: accounts on the double-entry ledger, movements between them, holds and currency conversion."""

from __future__ import annotations

from collections.abc import Sequence

from mcp_payments.categories import Category
from mcp_payments.config import Settings
from mcp_payments.server.tools import wallets
from mcp_payments.services.container import Services
from mcp_payments.services.jobs import Job
from mcp_payments.services.wallets import WalletService


def wire(services: Services, settings: Settings) -> None:
    services.add(
        WalletService(services.clock, services.ids, settings.fx_rates, settings.hold_ttl, cursors=services.cursors)
    )


def jobs(services: Services) -> Sequence[Job]:
    calls, wallet_service = services.calls, services.get(WalletService)

    async def expire_holds() -> int:
        expired = await calls.background("expire_holds", wallet_service.expire_holds, lambda hs: [h.id for h in hs])
        return len(expired)

    return (Job("expire_holds", expire_holds),)


CATEGORY = Category(toolset="wallets", id_prefixes=("wal", "hld", "txn"), wire=wire, tools=wallets.register, jobs=jobs)
