"""A card number typed into free text (a memo, a description, a name, a reason) is masked to ****<last4>
before anything stores, logs or echoes it; an id or an idempotency key is never rewritten
(tests/server/test_idempotency_keys.py). A number that fails the check digit (an order number) is
left as typed, and the card_number argument itself still reaches the provider whole.

Every test ends with the card-number scan over each tool output and the whole database.
"""

from collections.abc import AsyncIterator

import pytest
from mcp.client import Client

from tests.conftest import Stack
from tests.payments.agent import Agent
from tests.payments.card_scan import card_numbers, card_numbers_in, dump_database, luhn
from tests.payments.conftest import engine

pytestmark = pytest.mark.anyio

ORDER = "1234567812345678"  # 16 digits that fail the check digit: an order number, not a card
SPELLINGS = {
    "bare": "4242424242424242",
    "spaced": "4242 4242 4242 4242",
    "dashed": "4242-4242-4242-4242",
    "after another number": "qty 2 4242 4242 4242 4242",
    "after a year": "2026 4242 4242 4242 4242",
    "dotted": "4242.4242.4242.4242",
    "spaced dashes and tabs": "4242 - 4242\t4242\t4242",
    "lines and no-break spaces": "4242\r\n4242\u00a04242\n4242",
    "full-width": "４２４２４２４２４２４２４２４２",
    "full-width separators and en dashes": "4242\uff0e4242\u20134242\uff0f4242",
    "in a 20-digit run": "00004242424242424242",
}
MASKED = {
    "bare": "****4242",
    "spaced": "****4242",
    "dashed": "****4242",
    "after another number": "qty 2 ****4242",
    "after a year": "2026 ****4242",
    "dotted": "****4242",
    "spaced dashes and tabs": "****4242",
    "lines and no-break spaces": "****4242",
    "full-width": "****4242",
    "full-width separators and en dashes": "****4242",
    "in a 20-digit run": "0000****4242",  # no card number starts with 0: the zeros stay
}


def test_the_numbers_used_here_are_what_they_claim_to_be() -> None:
    assert not luhn(ORDER)
    for spelling in SPELLINGS.values():
        [card] = card_numbers(spelling)
        assert "4242424242424242" in card


@pytest.fixture
async def agent(client: Client, stack: Stack) -> AsyncIterator[Agent]:
    """The MCP client; afterwards no card number may be in any output or anywhere in the database."""
    agent = Agent(client)
    yield agent
    stored = await dump_database(engine(stack))
    assert card_numbers_in(agent.outputs) == []
    assert card_numbers_in(stored) == []
    assert any(ORDER in row for row in stored), "the order number was stored as typed"


async def rows_containing(stack: Stack, fragment: str) -> list[str]:
    return [row for row in await dump_database(engine(stack)) if fragment in row]


@pytest.mark.parametrize("spelling", SPELLINGS)
async def test_a_card_number_in_a_fund_wallet_memo_is_stored_and_returned_masked(
    agent: Agent, stack: Stack, spelling: str
) -> None:
    wallet = (await agent.ok("create_wallet", currency="USD", name="memo"))["wallet"]["id"]

    funded = await agent.ok(
        "fund_wallet",
        wallet_id=wallet,
        currency="USD",
        amount="10.00",
        memo=f"paid by {SPELLINGS[spelling]} for order {ORDER}",
    )

    expected = f"paid by {MASKED[spelling]} for order {ORDER}"
    assert funded["transaction"]["memo"] == expected
    [line] = (await agent.ok("get_wallet_statement", wallet_id=wallet))["lines"]
    assert line["memo"] == expected
    assert await rows_containing(stack, expected), "the memo is stored masked"


async def test_a_card_number_in_a_payment_description_is_masked_and_the_card_number_argument_still_pays(
    agent: Agent, stack: Stack
) -> None:
    created = await agent.ok(
        "create_payment",
        currency="USD",
        amount="25.00",
        card_number="4242 4242 4242 4242",
        card_exp_month=12,
        card_exp_year=2030,
        card_cvc="123",
        description=f"customer read out 5555 5555 5555 4444, order {ORDER}",
    )

    payment = created["payment"]
    expected = f"customer read out ****4444, order {ORDER}"
    assert payment["status"] == "succeeded"
    assert (payment["card"]["brand"], payment["card"]["last4"]) == ("visa", "4242")
    assert payment["description"] == expected
    assert (await agent.payment(payment["id"]))["payment"]["description"] == expected
    [listed] = (await agent.ok("list_payments"))["payments"]
    assert listed["description"] == expected
    assert await rows_containing(stack, expected)


async def test_a_card_number_in_a_customer_name_is_masked_and_searching_by_it_finds_the_masked_name(
    agent: Agent, stack: Stack
) -> None:
    created = await agent.ok("create_customer", name=f"Pat 4000 0566 5566 5556 #{ORDER}")

    customer = created["customer"]
    expected = f"Pat ****5556 #{ORDER}"
    assert customer["name"] == expected
    assert (await agent.ok("get_customer", customer_id=customer["id"]))["name"] == expected
    [found] = (await agent.ok("list_customers", name="4000056655665556"))["customers"]
    assert found["id"] == customer["id"], "the search text is masked the same way"
    assert await rows_containing(stack, expected)


async def test_a_card_number_in_a_wallet_name_is_masked(agent: Agent, stack: Stack) -> None:
    created = await agent.ok("create_wallet", currency="USD", name=f"card 378282246310005 / {ORDER}")

    wallet = created["wallet"]
    expected = f"card ****0005 / {ORDER}"
    assert wallet["name"] == expected
    assert (await agent.ok("get_wallet", wallet_id=wallet["id"]))["name"] == expected
    assert [w["name"] for w in (await agent.ok("list_wallets"))["wallets"]] == [expected]
    assert await rows_containing(stack, expected)


async def test_oddly_spelt_card_numbers_in_a_payment_description_are_masked(agent: Agent, stack: Stack) -> None:
    created = await agent.ok(
        "create_payment",
        currency="USD",
        amount="25.00",
        payment_method="pm_card_visa",
        description=f"cards ５５５５ ５５５５ ５５５５ ４４４４ and 3782_822463_10005, order {ORDER}",
    )

    payment = created["payment"]
    expected = f"cards ****4444 and ****0005, order {ORDER}"
    assert payment["description"] == expected
    assert (await agent.payment(payment["id"]))["payment"]["description"] == expected
    [listed] = (await agent.ok("list_payments"))["payments"]
    assert listed["description"] == expected
    assert await rows_containing(stack, expected)


async def test_oddly_spelt_card_numbers_in_a_wallet_name_are_masked(agent: Agent, stack: Stack) -> None:
    arabic_indic = "4000056655665556".translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    created = await agent.ok("create_wallet", currency="USD", name=f"{arabic_indic} / 6011.1111.1111.1117  #{ORDER}")

    wallet = created["wallet"]
    expected = f"****5556 / ****1117  #{ORDER}"
    assert wallet["name"] == expected
    assert (await agent.ok("get_wallet", wallet_id=wallet["id"]))["name"] == expected
    assert [w["name"] for w in (await agent.ok("list_wallets"))["wallets"]] == [expected]
    assert await rows_containing(stack, expected)


async def test_a_card_number_in_a_refund_reason_is_masked(agent: Agent, stack: Stack) -> None:
    payment = await agent.pay("30.00")

    refunded = await agent.ok(
        "refund_payment",
        payment_id=payment["id"],
        amount="5.00",
        reason=f"refund to 4242-4242-4242-4242, order {ORDER}",
    )

    expected = f"refund to ****4242, order {ORDER}"
    assert refunded["refund"]["reason"] == expected
    [refund] = (await agent.payment(payment["id"]))["refunds"]
    assert refund["reason"] == expected
    assert await rows_containing(stack, expected)


async def test_a_number_that_fails_the_check_digit_is_left_as_typed_everywhere(agent: Agent, stack: Stack) -> None:
    payment = await agent.pay("12.00", description=f"order {ORDER}")
    wallet = (await agent.ok("create_wallet", currency="USD", name=f"orders {ORDER}"))["wallet"]["id"]
    funded = await agent.ok(
        "fund_wallet", wallet_id=wallet, payment_id=payment["id"], amount="1.00", memo="for 1234 5678 1234 5678"
    )
    refunded = await agent.ok("refund_payment", payment_id=payment["id"], amount="1.00", reason=f"order {ORDER}")

    assert payment["description"] == f"order {ORDER}"
    assert funded["wallet"]["name"] == f"orders {ORDER}"
    assert funded["transaction"]["memo"] == "for 1234 5678 1234 5678"
    assert refunded["refund"]["reason"] == f"order {ORDER}"
    assert not await rows_containing(stack, "****"), "nothing was masked"
