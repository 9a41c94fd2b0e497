"""How each money tool's amount counts against its caller's spending limits (domain/limits.py), declared with
`Toolbox.command(counts=...)`. Each reads what the call would count from its arguments, looking up what they
leave out (all of a hold, all that is refundable); None when there is nothing to count, so that the handler
reports the unknown or finished hold or payment itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mcp_payments.domain.ledger import HoldStatus
from mcp_payments.domain.limits import EXTERNAL, Counts, Spend
from mcp_payments.domain.money import AmountInput, Money, parse_amount
from mcp_payments.services.commands import NOT_COUNTED, Counting
from mcp_payments.services.ports import PAYMENTS, UnitOfWork

__all__ = ["NOT_COUNTED", "captured_hold", "counted_refund", "stated_spend"]


def _given(arguments: Mapping[str, Any]) -> AmountInput | None:
    amount, minor = arguments.get("amount"), arguments.get("amount_minor")
    return None if amount is None and minor is None else AmountInput(amount, minor)


def stated_spend(payee: Callable[[Mapping[str, Any]], str | None]) -> Counting:
    """Spend of the amount and currency the call states, to `payee(arguments)`."""

    async def spend(_uow: UnitOfWork, arguments: Mapping[str, Any]) -> Spend:
        money = parse_amount(arguments.get("amount"), arguments.get("amount_minor"), arguments["currency"])
        return Spend(money, Counts.SPEND, payee(arguments))

    return Counting(Counts.SPEND, spend)


async def _captured(uow: UnitOfWork, arguments: Mapping[str, Any]) -> Spend | None:
    hold = await uow.ledger.get_hold(arguments["hold_id"])
    if hold is None or hold.status is not HoldStatus.ACTIVE:
        return None
    given = _given(arguments)
    money = given.in_currency(hold.currency) if given is not None else Money.of(hold.amount, hold.currency)
    return Spend(money, Counts.SPEND, arguments.get("destination_wallet_id") or EXTERNAL)


async def _refunded(uow: UnitOfWork, arguments: Mapping[str, Any]) -> Spend | None:
    payment = await uow.repo(PAYMENTS).get(arguments["payment_id"])
    if payment is None:
        return None
    given = _given(arguments)
    minor = given.in_currency(payment.currency).minor if given is not None else payment.refundable
    if minor <= 0:
        return None
    return Spend(Money.of(minor, payment.currency), Counts.REFUND, payment.customer_id)


# A captured hold is spent when it is captured (placing it moves nothing), to its destination or out of the ledger.
captured_hold = Counting(Counts.SPEND, _captured)
# A refund counts against the refund caps, whatever its amount: all that is left when none is given.
counted_refund = Counting(Counts.REFUND, _refunded)
