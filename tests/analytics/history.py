"""A small payment history around New York's spring-forward day (2026-03-08, 23 hours long), made with the real
tools at chosen instants. Every analytics figure of it is worked out by hand in the tests.

Fees are the sandbox's 2.9 % + 0.30: 100.00 -> 3.20, 50.00 -> 1.75, 80.00 -> 2.62, 200.00 -> 6.10, 30.00 EUR -> 1.17,
10.00 -> 0.59, 20.00 -> 0.88.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from mcp_payments.bootstrap import sweep_once
from tests.conftest import FakeClock, Stack
from tests.payments.agent import Agent


def at(clock: FakeClock, year: int, month: int, day: int, hour: int, minute: int = 0) -> None:
    clock.current = datetime(year, month, day, hour, minute, tzinfo=UTC)


@dataclass
class History:
    a: str
    b: str
    c: str
    d: str


async def build(agent: Agent, stack: Stack) -> History:
    assert stack.clock is not None
    clock = stack.clock
    a, b, c, d = [
        (await agent.ok("create_customer", email=f"{n}@example.com", name=n))["customer"]["id"] for n in "abcd"
    ]

    async def pay(amount: str, method: str, customer: str, currency: str = "USD") -> dict[str, object]:
        result = await agent.call(
            "create_payment", currency=currency, amount=amount, payment_method=method, customer_id=customer
        )
        body = dict(result.structured_content or {})
        return dict(body.get("payment", {}))

    at(clock, 2026, 2, 10, 12)
    await pay("10.00", "pm_card_visa", a)  # P0: A's first payment, in February
    at(clock, 2026, 2, 15, 12)
    await pay("20.00", "pm_card_visa", d)  # P9: D pays once, in February
    at(clock, 2026, 3, 7, 4, 30)  # 2026-03-06 23:30 in New York: the local day before the UTC one
    p1 = await pay("100.00", "pm_card_visa", a)
    at(clock, 2026, 3, 8, 4, 59)  # 2026-03-07 23:59 EST
    await pay("50.00", "pm_card_visa", a)  # P2
    at(clock, 2026, 3, 8, 6)  # 2026-03-08 01:00 EST, before the jump
    await agent.ok("refund_payment", payment_id=p1["id"], amount="40.00")
    at(clock, 2026, 3, 8, 12)
    await pay("5.00", "pm_card_chargeDeclined", b)  # P4: declined (card_declined)
    at(clock, 2026, 3, 8, 13)
    await pay("7.00", "pm_card_threeDSecureRequired", b)  # P5: 3-D Secure never completed
    at(clock, 2026, 3, 8, 14)
    p6 = await pay("30.00", "pm_card_threeDSecureRequired", c, "EUR")
    await agent.ok("confirm_payment", payment_id=p6["id"])  # P6: completed, approved
    at(clock, 2026, 3, 8, 15)
    await pay("80.00", "pm_card_createDispute", c)  # P7
    at(clock, 2026, 3, 8, 16)
    assert await sweep_once(stack.services) >= 1  # P7's dispute arrives: 80.00 back
    at(clock, 2026, 3, 8, 17)
    await pay("9.00", "pm_card_chargeDeclinedInsufficientFunds", a)  # P8: declined (insufficient_funds)
    at(clock, 2026, 3, 9, 4, 30)  # 2026-03-09 00:30 EDT; with EST's offset it would still be the 8th
    await pay("200.00", "pm_card_mastercard", b)  # P3
    at(clock, 2026, 3, 20, 12)
    return History(a, b, c, d)
