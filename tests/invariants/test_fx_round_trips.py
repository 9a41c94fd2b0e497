"""FX round trips never create money (issue "money-correctness defects", defect 2), through a real MCP client.

At USD/JPY=150 with half-even rounding, 1 JPY became 0.01 USD and 0.01 USD became 2 JPY: twenty round
trips turned 1 JPY into 32 and left the FX account at -31 JPY, and the ledger check said OK.
"""

import uuid
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from mcp.client import Client

from tests.conftest import Stack
from tests.helpers import err, funded_wallet, ok
from tests.server.rows import row_counter
from tests.services.wallet_calls import balances

pytestmark = pytest.mark.anyio

JPY_PER_USD = 150


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"fx_rates": {"USD/JPY": Decimal(JPY_PER_USD)}}


async def convert(client: Client, source: str, target: str, currency: str, amount_minor: int) -> dict[str, Any]:
    return await ok(
        client,
        "transfer_funds",
        source_wallet_id=source,
        destination_wallet_id=target,
        currency=currency,
        amount_minor=amount_minor,
        idempotency_key=f"fx-{uuid.uuid4().hex}",  # every leg is a new transfer, even one of the same amount
    )


def in_yen(jpy: int, usd_cents: int) -> Fraction:
    """The exact value of a JPY and a USD balance together, in yen."""
    return jpy + Fraction(usd_cents * JPY_PER_USD, 100)


async def test_twenty_round_trips_of_one_yen_are_refused_at_the_first_leg_and_change_nothing(
    stack: Stack, client: Client
) -> None:
    jpy = await funded_wallet(client, "1", "JPY")
    usd = await funded_wallet(client, "0", "USD")

    async with row_counter(stack.settings.db_url) as count:
        before = await count()
        for _ in range(20):
            refused = await err(
                client,
                "transfer_funds",
                source_wallet_id=jpy,
                destination_wallet_id=usd,
                currency="JPY",
                amount="1",
                idempotency_key=f"fx-{uuid.uuid4().hex}",
            )
            assert refused["code"] == "invalid_amount"
            assert refused["message"].startswith(
                "1 JPY is worth less than 0.01 USD at 150 JPY per USD; convert at least 2 JPY."
            )
            assert refused["details"]["minimum"] == "2"
        assert await count() == before

    assert (await ok(client, "get_wallet", wallet_id=jpy))["posted"]["amount_minor"] == 1
    assert (await ok(client, "get_wallet", wallet_id=usd))["posted"]["amount_minor"] == 0
    quote = await err(client, "get_fx_quote", source_currency="JPY", target_currency="USD", amount="1")
    assert quote["code"] == "invalid_amount"


@pytest.mark.parametrize("start", [2, 3, 151, 299, 1000, 12_345])
async def test_round_trips_of_amounts_that_convert_never_end_with_more(client: Client, start: int) -> None:
    jpy = await funded_wallet(client, str(start), "JPY")
    usd = await funded_wallet(client, "0", "USD")
    held = start

    for _ in range(20):
        there = await convert(client, jpy, usd, "JPY", held)
        cents = there["destination"]["posted"]["amount_minor"]
        back = await convert(client, usd, jpy, "USD", cents)
        assert back["source"]["posted"]["amount_minor"] == 0
        after = back["destination"]["posted"]["amount_minor"]
        assert after <= held
        held = after
        if held < 2:  # 1 JPY no longer converts
            break

    assert held <= start


async def test_mixed_conversions_never_gain_value_and_the_desk_never_loses(stack: Stack, client: Client) -> None:
    jpy = await funded_wallet(client, "5000", "JPY")
    usd = await funded_wallet(client, "50.00", "USD")
    started = in_yen(5000, 5000)

    for amount_minor, currency in [(151, "JPY"), (1, "USD"), (299, "JPY"), (3, "USD"), (2, "JPY"), (77, "USD")] * 3:
        source, target = (jpy, usd) if currency == "JPY" else (usd, jpy)
        await convert(client, source, target, currency, amount_minor)

    held_jpy = (await ok(client, "get_wallet", wallet_id=jpy))["posted"]["amount_minor"]
    held_usd = (await ok(client, "get_wallet", wallet_id=usd))["posted"]["amount_minor"]
    assert in_yen(held_jpy, held_usd) < started

    report = await ok(client, "check_ledger_integrity")
    assert report["ok"], report["problems"]
    positions = {p["pair"]: p for p in report["fx_positions"]}
    assert set(positions) == {"JPY/USD", "USD/JPY"}
    jpy_usd, usd_jpy = positions["JPY/USD"], positions["USD/JPY"]
    # What the desk took in is worth at least what it paid out, at the rate.
    assert jpy_usd["received"]["amount_minor"] >= in_yen(0, jpy_usd["paid"]["amount_minor"])
    assert in_yen(0, usd_jpy["received"]["amount_minor"]) >= usd_jpy["paid"]["amount_minor"]
    assert (jpy_usd["conversions"], usd_jpy["conversions"]) == (9, 9)
    # The rounding the positions report is what the FX rounding account received.
    accounts = await balances(stack.services)
    assert jpy_usd["rounding"] == {"amount": "3", "amount_minor": 3, "currency": "JPY"}
    assert accounts["acc_fx_rounding_JPY"] == (3, 0)
    assert usd_jpy["rounding"]["amount_minor"] == accounts.get("acc_fx_rounding_USD", (0, 0))[0]


async def test_a_quote_shows_what_the_transfer_then_books(client: Client) -> None:
    jpy = await funded_wallet(client, "151", "JPY")
    usd = await funded_wallet(client, "0", "USD")

    quote = await ok(client, "get_fx_quote", source_currency="JPY", target_currency="USD", amount="151")
    moved = await convert(client, jpy, usd, "JPY", 151)

    assert quote == {
        "source": {"amount": "151", "amount_minor": 151, "currency": "JPY"},
        "target": {"amount": "1.00", "amount_minor": 100, "currency": "USD"},
        "rounding": {"amount": "1", "amount_minor": 1, "currency": "JPY"},
        "rate": "0.006666666667",
        "rate_exact": "1/150",
    }
    entries = {e["account_id"]: e["amount"]["amount_minor"] for e in moved["transaction"]["entries"]}
    assert entries == {jpy: -151, "acc_fx_JPY": 150, "acc_fx_rounding_JPY": 1, "acc_fx_USD": -100, usd: 100}
    assert moved["fx_rate"] == quote["rate"]
    assert moved["destination"]["posted"] == quote["target"]
