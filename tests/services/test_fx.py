"""Cross-currency transfers at USD/JPY=150: rounding down, the residue and the conversion record."""

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import select, text

from mcp_payments.adapters.db import tables
from mcp_payments.domain.errors import InvalidAmount
from mcp_payments.services.container import Services
from tests.services.wallet_calls import (
    assert_ledger_sound,
    balances,
    create_wallet,
    database,
    funded_wallet,
    raw_connection,
    row_counts,
    transfer,
    wallet,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"fx_rates": {"USD/JPY": Decimal("150")}}


async def test_the_source_units_that_buy_nothing_book_to_the_fx_rounding_account(services: Services) -> None:
    jpy = await funded_wallet(services, "151", "JPY")
    usd = await create_wallet(services, "USD")

    await transfer(services, jpy, usd, "151", "JPY")

    assert (await wallet(services, jpy)).posted == 0
    assert (await wallet(services, usd)).posted == 100
    accounts = await balances(services)
    assert accounts["acc_fx_JPY"] == (150, 0)
    assert accounts["acc_fx_rounding_JPY"] == (1, 0)
    assert accounts["acc_fx_USD"] == (-100, 0)
    await assert_ledger_sound(services)


async def test_a_conversion_is_recorded_with_its_exact_rate_in_the_same_transaction(services: Services) -> None:
    jpy = await funded_wallet(services, "1000", "JPY")
    usd = await create_wallet(services, "USD")

    outcome = await transfer(services, jpy, usd, "151", "JPY")

    async with database(services).reader.connect() as conn:
        rows = (await conn.execute(select(tables.fx_conversions))).mappings().all()
    assert [dict(r) for r in rows] == [
        {
            "transaction_id": outcome.response["transaction_id"],
            "source_wallet_id": jpy,
            "target_wallet_id": usd,
            "source_currency": "JPY",
            "target_currency": "USD",
            "rate": "1/150",
            "source_amount": 151,
            "source_used": 150,
            "residue": 1,
            "target_amount": 100,
        }
    ]


@pytest.mark.parametrize(
    "statement", ["UPDATE fx_conversions SET target_amount = target_amount + 1", "DELETE FROM fx_conversions"]
)
async def test_the_database_refuses_to_change_or_remove_a_conversion_record(services: Services, statement: str) -> None:
    jpy = await funded_wallet(services, "151", "JPY")
    await transfer(services, jpy, await create_wallet(services, "USD"), "151", "JPY")

    async with raw_connection(services) as conn:
        with pytest.raises(sa_exc.DBAPIError, match="append-only"):
            await conn.execute(text(statement))
        await conn.rollback()

    await assert_ledger_sound(services)


async def test_an_amount_worth_less_than_one_minor_unit_is_refused_and_changes_nothing(services: Services) -> None:
    jpy = await funded_wallet(services, "1", "JPY")
    usd = await create_wallet(services, "USD")
    before, accounts = await row_counts(services), await balances(services)

    with pytest.raises(
        InvalidAmount, match=r"^1 JPY is worth less than 0\.01 USD at 150 JPY per USD; convert at least 2 JPY$"
    ):
        await transfer(services, jpy, usd, "1", "JPY")

    assert await row_counts(services) == before
    assert await balances(services) == accounts
