"""Wallets: accounts on the double-entry ledger, movements between them, holds and currency conversion."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from mcp_payments.categories import Category
from mcp_payments.config import Settings
from mcp_payments.server.tools import wallets
from mcp_payments.services.container import Services
from mcp_payments.services.jobs import AnyJob, Job
from mcp_payments.services.ports import Claim, UnitOfWork
from mcp_payments.services.wallets import WalletService


def wire(services: Services, settings: Settings) -> None:
    services.add(
        WalletService(services.clock, services.ids, settings.fx_rates, settings.hold_ttl, cursors=services.cursors)
    )


def jobs(services: Services) -> Sequence[AnyJob]:
    wallet_service = services.get(WalletService)

    async def oldest_expired(uow: UnitOfWork, claim: Claim) -> datetime | None:
        return await uow.ledger.oldest_expired_hold(claim)

    return (
        Job("expire_holds", wallet_service.expired_holds, wallet_service.expire_hold, lambda h: h.id, oldest_expired),
    )


CATEGORY = Category(toolset="wallets", id_prefixes=("wal", "hld", "txn"), wire=wire, tools=wallets.register, jobs=jobs)
