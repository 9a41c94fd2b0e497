"""Cross-currency transfers at USD/JPY=150: rounding down, the residue, the conversion record and its checks."""

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import select, text

from mcp_payments.adapters.db import tables
from mcp_payments.domain import fx
from mcp_payments.domain.errors import InvalidAmount
from mcp_payments.domain.fx import Conversion, ConversionRecord, Desk
from mcp_payments.domain.ledger import AccountType, Entry, JournalTransaction
from mcp_payments.domain.money import Money, currency
from mcp_payments.services.container import Services
from mcp_payments.services.ports import UnitOfWork
from tests.services.wallet_calls import (
    assert_ledger_sound,
    balances,
    create_wallet,
    database,
    funded_wallet,
    integrity,
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


async def test_the_ledger_check_sums_the_fx_desks_positions_per_pair(services: Services) -> None:
    jpy = await funded_wallet(services, "1000", "JPY")
    usd = await funded_wallet(services, "10.00", "USD")
    await transfer(services, jpy, usd, "151", "JPY")  # 1.00 USD for 150, 1 rounding
    await transfer(services, jpy, usd, "299", "JPY")  # 1.99 USD for 299
    await transfer(services, usd, jpy, "0.03", "USD")  # 4 JPY for 0.03

    report = await integrity(services)

    assert report.ok, report.problems
    assert report.fx_positions == [
        fx.Position("JPY", "USD", conversions=2, received=449, paid=299, residue=1),
        fx.Position("USD", "JPY", conversions=1, received=3, paid=4, residue=0),
    ]


async def book(services: Services, record: ConversionRecord, entries: tuple[Entry, ...] | None = None) -> None:
    """Post a conversion and its record around the FX service, as a bug could (audited like any posting, so
    the journal and the audit chain still agree: only the conversion itself is wrong)."""
    now = services.clock.now()

    async def post(uow: UnitOfWork) -> None:
        desk = Desk(
            await uow.ledger.ensure_system_account(AccountType.FX, "JPY", now),
            await uow.ledger.ensure_system_account(AccountType.FX_ROUNDING, "JPY", now),
            await uow.ledger.ensure_system_account(AccountType.FX, "USD", now),
        )
        booked = entries or fx.entries(record.conversion, record.source_wallet_id, record.target_wallet_id, desk)
        result = await uow.ledger.post(JournalTransaction(record.transaction_id, "fx_transfer", booked, None, now))
        assert result.applied
        await uow.ledger.add_conversion(record)

    await services.calls.background("book_conversion", post, lambda _: [record.transaction_id])


async def test_the_ledger_check_reports_a_conversion_that_credited_more_than_it_took_was_worth(
    services: Services,
) -> None:
    jpy = await funded_wallet(services, "151", "JPY")
    usd = await create_wallet(services, "USD")
    generous = Conversion(Money.of(151, "JPY"), Money.of(101, "USD"), Money.of(151, "JPY"), Fraction(1, 150))

    await book(services, ConversionRecord("txn_generous", jpy, usd, generous))

    report = await integrity(services)
    assert report.problems == [
        "conversion txn_generous credited 1.01 USD, more than 151 JPY is worth at 150 JPY per USD"
    ]
    assert not report.ok


def honest_entries(jpy: str, usd: str) -> tuple[Entry, ...]:
    return (
        Entry(jpy, -151, "JPY"),
        Entry("acc_fx_JPY", 150, "JPY"),
        Entry("acc_fx_rounding_JPY", 1, "JPY"),
        Entry("acc_fx_USD", -100, "USD"),
        Entry(usd, 100, "USD"),
    )


@pytest.mark.parametrize(
    "change",
    [
        "residue kept by the fx account",
        "another destination",
        "an extra pair of entries",
        "no rounding entry for the record's residue",
    ],
)
async def test_the_ledger_check_reports_a_conversion_whose_transaction_does_not_match_its_record(
    services: Services, change: str
) -> None:
    jpy = await funded_wallet(services, "151", "JPY")
    usd, other = await create_wallet(services, "USD"), await create_wallet(services, "USD")
    entries = list(honest_entries(jpy, usd))
    conversion = fx.convert(Money.of(151, "JPY"), currency("USD"), Fraction(1, 150))  # 1.00 USD, 1 JPY residue
    match change:
        case "residue kept by the fx account":
            entries[1:3] = [Entry("acc_fx_JPY", 151, "JPY")]
        case "another destination":
            entries[4] = Entry(other, 100, "USD")
        case "an extra pair of entries":
            entries += [Entry(other, 5, "USD"), Entry("acc_fx_USD", -5, "USD")]
        case _:
            entries = [Entry(jpy, -150, "JPY"), Entry("acc_fx_JPY", 150, "JPY"), *entries[3:]]

    await book(services, ConversionRecord("txn_mismatch", jpy, usd, conversion), tuple(entries))

    report = await integrity(services)
    assert report.problems == ["conversion txn_mismatch: its journal transaction does not book what its record says"]


async def test_a_conversion_booked_as_its_record_says_passes_the_check(services: Services) -> None:
    jpy = await funded_wallet(services, "151", "JPY")
    usd = await create_wallet(services, "USD")
    conversion = fx.convert(Money.of(151, "JPY"), currency("USD"), Fraction(1, 150))

    await book(services, ConversionRecord("txn_honest", jpy, usd, conversion), honest_entries(jpy, usd))

    await assert_ledger_sound(services)
