"""Every money tool declares how its amount counts against spending limits, and only money tools do."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from mcp_payments.domain.limits import Counts
from mcp_payments.services.commands import Counting, Dispatcher, Done, Kind
from mcp_payments.services.ports import UnitOfWork
from tests.server.listing import deployment, last_box

pytestmark = pytest.mark.anyio

# Reviewed one by one: a new money tool fails this test until it is added here with how it counts.
EXPECTED = {
    "create_payment": Counts.SPEND,  # a charge, to the customer charged
    "confirm_payment": Counts.NONE,  # counted when the payment was created
    "capture_payment": Counts.NONE,
    "cancel_payment": Counts.NONE,
    "refund_payment": Counts.REFUND,
    "fund_wallet": Counts.NONE,  # a top-up from outside, or a payment's proceeds
    "withdraw_from_wallet": Counts.SPEND,
    "transfer_funds": Counts.SPEND,
    "hold_funds": Counts.NONE,  # reserves; the capture spends
    "capture_hold": Counts.SPEND,
    "release_hold": Counts.NONE,
    "create_subscription": Counts.SPEND,  # its first period's charge, to the customer (nothing during a trial)
    "pay_invoice": Counts.SPEND,  # the open invoice's total, to the customer
    "change_subscription_plan": Counts.SPEND,  # always_invoice: the proration charged now (else nothing)
    "resume_subscription": Counts.SPEND,  # the drafts kept while paused, charged on resume
    "cancel_subscription": Counts.REFUND,  # prorate: the unused time refunded
}


async def test_every_money_tool_declares_how_its_amount_counts() -> None:
    async with deployment() as (_, specs):
        dispatcher = last_box().dispatcher
        money = {name for name, spec in specs.items() if spec.kind is Kind.MONEY}
        assert {name: dispatcher.counting_of(name).counts for name in money} == EXPECTED
        for name, spec in specs.items():
            if spec.kind.mutating and spec.kind is not Kind.MONEY:
                assert dispatcher.counting_of(name).counts is Counts.NONE, name


async def _handler(_uow: UnitOfWork, _arguments: Mapping[str, Any]) -> Done:
    raise AssertionError("never called")  # pragma: no cover


async def _review(_uow: UnitOfWork, _command: Any, _approved: bool) -> None:
    raise AssertionError("never called")  # pragma: no cover


def test_a_money_tool_without_a_counting_cannot_be_registered_nor_a_counting_on_another_kind() -> None:
    dispatcher = Dispatcher(runner=None, guard=None)  # type: ignore[arg-type]  # registration uses neither
    with pytest.raises(ValueError, match="declares how its amount counts"):
        dispatcher.register("pay_someone", Kind.MONEY, _handler)
    with pytest.raises(ValueError, match="a write tool may declare only a review"):
        dispatcher.register("create_thing", Kind.WRITE, _handler, Counting(Counts.NONE))
    with pytest.raises(ValueError, match="says what it spends"):
        Counting(Counts.SPEND)
    # A write tool may have a review that holds it (create_customer's sanctions screening), and counts nothing.
    dispatcher.register("create_reviewed", Kind.WRITE, _handler, Counting(Counts.NONE, review=_review))
    assert dispatcher.counting_of("create_reviewed").counts is Counts.NONE


async def test_every_counted_spend_tool_and_no_other_takes_a_mandate() -> None:
    async with deployment() as (tools, _):
        takes = {name for name, tool in tools.items() if "mandate_id" in tool.input_schema["properties"]}
    spends = {name for name, counts in EXPECTED.items() if counts is Counts.SPEND}
    assert takes - {"get_mandate", "revoke_mandate"} == spends
