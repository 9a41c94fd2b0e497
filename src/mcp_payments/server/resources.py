"""MCP resources: a wallet, a payment's timeline, the approval queue and the dashboard, as JSON.

Each read finds its caller like a tool call does (server/callers.py) and sees what the equivalent read tool
shows it: a resource is a read (Kind.READ, role viewer and up), the approval queue is everyone's for an operator
or admin and one's own otherwise. A deployment that leaves a toolset out (--toolsets) leaves its resources out
too. A malformed or unknown id is a JSON-RPC error whose message says what to do; it never echoes the id.

URIs (also in README, "Resources and live updates"):
  payments://wallets/{wallet_id}{?cursor,limit}  balances and a page of the statement (get_wallet_statement)
  payments://payments/{payment_id}               the payment and its timeline (get_payment, in time order)
  payments://approvals/pending                   the pending approvals you may see (list_pending_approvals)
  payments://dashboard                           the last 30 days (UTC): revenue, authorizations, MRR, balances,
                                                 approvals, background jobs
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from pydantic import BaseModel

from mcp_payments.domain import errors as e
from mcp_payments.domain.cards import mask_card_numbers
from mcp_payments.server import errors
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.view_models import ApprovalQueueOut, DashboardOut, PaymentTimelineOut, WalletViewOut
from mcp_payments.services.access import Caller
from mcp_payments.services.commands import Kind
from mcp_payments.services.container import Services
from mcp_payments.services.live import APPROVALS, DASHBOARD, payment_uri, wallet_uri
from mcp_payments.services.pages import DEFAULT_LIMIT, MAX_LIMIT
from mcp_payments.services.ports import UnitOfWork
from mcp_payments.services.views import Views

if TYPE_CHECKING:
    from mcp_payments.server.app import PaymentsServer

JSON = "application/json"
WALLET = "payments://wallets/{wallet_id}"
PAYMENT = "payments://payments/{payment_id}"
RESOURCE_NOT_FOUND = -32002  # the spec's code for a resource that does not exist
_ID = "[0-9A-Za-z_]{1,40}"
_WALLET_ID = re.compile(f"wal_{_ID}")
_PAYMENT_ID = re.compile(f"pay_{_ID}")


def refusal(error: e.DomainError, uri: str) -> MCPError:
    """The JSON-RPC error for a read that failed: the domain's message, which says what to do, and its code."""
    if errors.channel(type(error)) is errors.Channel.PROTOCOL_ERROR:
        return errors.refusal(error)
    code = RESOURCE_NOT_FOUND if error.code.endswith("_not_found") else INVALID_PARAMS
    data = {"code": error.code, "retryable": error.retryable, "uri": uri}
    return MCPError(code=code, message=mask_card_numbers(error.message), data=data)


def bad_id(uri: str, what: str, example: str, listing: str) -> MCPError:
    return MCPError(
        code=INVALID_PARAMS,
        message=f"{uri} needs {what} id such as {example} (its prefix, then at most 40 letters, digits or "
        f"underscores); the one given is not: take one from {listing}",
        data={"code": "invalid_argument", "uri": uri},
    )


def register(server: PaymentsServer, services: Services, box: Toolbox) -> None:
    """Register the resources of the toolsets this deployment exposes."""
    views = services.get(Views)
    calls = services.calls

    async def read(uri: str, view: Callable[[UnitOfWork, Caller], Awaitable[BaseModel]]) -> str:
        caller = await server.reader()
        if not caller.may_call(Kind.READ):
            raise errors.refusal(caller.refusal(uri, Kind.READ))
        try:
            found = await calls.read(lambda uow: view(uow, caller))
        except e.DomainError as error:
            raise refusal(error, uri) from None
        return found.model_dump_json()

    if box.exposes(Kind.READ, "wallets"):

        @server.resource(
            WALLET + "{?cursor,limit}",
            name="wallet",
            title="Wallet",
            description="A wallet's balances (posted, pending, available) and a page of its statement, newest "
            "first (limit, default 20, at most 100; cursor: the next_cursor of the page before). Subscribe to "
            "payments://wallets/{wallet_id} to be told when its balances move.",
            mime_type=JSON,
        )
        async def wallet(wallet_id: str, cursor: str | None = None, limit: str | None = None) -> str:
            if not _WALLET_ID.fullmatch(wallet_id):
                raise bad_id(WALLET, "a wallet", "wal_01JB...", "list_wallets")
            uri = wallet_uri(wallet_id)
            size = _limit(uri, limit)

            async def view(uow: UnitOfWork, _: Caller) -> BaseModel:
                return WalletViewOut.of_view(await views.wallet_view(uow, wallet_id, cursor, size))

            return await read(uri, view)

    if box.exposes(Kind.READ, "payments"):

        @server.resource(
            PAYMENT,
            name="payment",
            title="Payment timeline",
            description="A payment with its provider attempts, events, refunds, dispute and ledger entries, and "
            "all of them as one timeline in time order. Subscribe to be told when it changes.",
            mime_type=JSON,
        )
        async def payment(payment_id: str) -> str:
            if not _PAYMENT_ID.fullmatch(payment_id):
                raise bad_id(PAYMENT, "a payment", "pay_01JB...", "list_payments")

            async def view(uow: UnitOfWork, _: Caller) -> BaseModel:
                return PaymentTimelineOut.of_timeline(await views.payment_timeline(uow, payment_id))

            return await read(payment_uri(payment_id), view)

    if box.exposes(Kind.READ, "controls"):

        @server.resource(
            APPROVALS,
            name="pending-approvals",
            title="Pending approvals",
            description="The money calls waiting for approval, oldest first: everyone's for an operator or admin, "
            "your own otherwise. Subscribe to be told when one is held or decided.",
            mime_type=JSON,
        )
        async def approvals() -> str:
            async def view(uow: UnitOfWork, caller: Caller) -> BaseModel:
                return ApprovalQueueOut.of(await views.approval_queue(uow, caller))

            return await read(APPROVALS, view)

    if box.exposes(Kind.READ, "analytics"):

        @server.resource(
            DASHBOARD,
            name="dashboard",
            title="Dashboard",
            description="The last 30 days (UTC): revenue per day and currency, authorization rate and top decline "
            "codes, MRR movements, wallet balances, pending approvals and background job health, with the same "
            "numbers as the analytics tools.",
            mime_type=JSON,
        )
        async def dashboard() -> str:
            async def view(uow: UnitOfWork, caller: Caller) -> BaseModel:
                return DashboardOut.of(await views.dashboard_summary(uow, caller, None, None))

            return await read(DASHBOARD, view)


def _limit(uri: str, text: str | None) -> int:
    if text is None:
        return DEFAULT_LIMIT
    if not (len(text) <= 3 and text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_LIMIT):
        raise MCPError(
            code=INVALID_PARAMS,
            message=f"limit must be a whole number from 1 to {MAX_LIMIT} (e.g. {uri}?limit=50)",
            data={"code": "invalid_argument", "uri": uri},
        )
    return int(text)
