from decimal import Decimal
from typing import Any

import pytest

from mcp_payments.domain.errors import (
    CurrencyMismatch,
    FxRateUnavailable,
    InsufficientFunds,
    InvalidCursor,
    SameAccount,
    UnknownCurrency,
    WalletNotFound,
)
from mcp_payments.domain.ledger import AccountType
from mcp_payments.domain.money import Money
from mcp_payments.services.container import Services
from mcp_payments.services.monitoring import MonitoringService
from mcp_payments.services.wallets import WalletService
from tests.conftest import FakeClock
from tests.services.wallet_calls import (
    assert_ledger_sound,
    balances,
    create_wallet,
    fund,
    funded_wallet,
    transfer,
    wallet,
    withdraw,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"fx_rates": {"EUR/USD": Decimal("1.08"), "USD/JPY": Decimal("151.237")}}


async def test_a_new_wallet_is_empty_in_its_currency(services: Services, fake_clock: FakeClock) -> None:
    wallet_id = await create_wallet(services, "eur")

    account = await wallet(services, wallet_id)
    assert wallet_id.startswith("wal_")
    assert (account.type, account.currency, account.posted, account.pending) == (AccountType.WALLET, "EUR", 0, 0)
    assert not account.allow_overdraft
    assert account.created_at == fake_clock.now()


async def test_a_wallet_in_an_unknown_currency_is_refused(services: Services) -> None:
    with pytest.raises(UnknownCurrency):
        await create_wallet(services, "ABC")


async def test_reading_a_missing_wallet_is_wallet_not_found(services: Services) -> None:
    with pytest.raises(WalletNotFound, match="list_wallets"):
        await wallet(services, "wal_missing")


async def test_a_system_account_is_not_readable_as_a_wallet(services: Services) -> None:
    await funded_wallet(services, "1.00")

    with pytest.raises(WalletNotFound):
        await wallet(services, "acc_external_USD")


async def test_funding_adds_to_the_wallet_and_books_the_other_side_to_the_outside_world(services: Services) -> None:
    wallet_id = await create_wallet(services)

    outcome = await fund(services, wallet_id, "25.50")

    assert outcome.response["posted"] == {wallet_id: 2550}
    assert (await wallet(services, wallet_id)).posted == 2550
    assert (await balances(services))["acc_external_USD"] == (-2550, 0)
    await assert_ledger_sound(services)


async def test_withdrawing_takes_from_the_wallet_to_the_outside_world(services: Services) -> None:
    wallet_id = await funded_wallet(services, "25.50")

    await withdraw(services, wallet_id, "5.25")

    assert (await wallet(services, wallet_id)).posted == 2025
    assert (await balances(services))["acc_external_USD"] == (-2025, 0)
    await assert_ledger_sound(services)


async def test_withdrawing_exactly_the_balance_leaves_zero(services: Services) -> None:
    wallet_id = await funded_wallet(services, "3.00")

    await withdraw(services, wallet_id, "3.00")

    assert (await wallet(services, wallet_id)).posted == 0


async def test_withdrawing_more_than_the_balance_is_insufficient_funds_and_changes_nothing(services: Services) -> None:
    wallet_id = await funded_wallet(services, "12.00")
    before = await balances(services)

    with pytest.raises(InsufficientFunds, match=r"12\.00 USD available, 50\.00 USD requested"):
        await withdraw(services, wallet_id, "50.00")

    assert await balances(services) == before


async def test_a_transfer_moves_money_between_two_wallets_of_one_currency(services: Services) -> None:
    a = await funded_wallet(services, "100.00")
    b = await create_wallet(services)

    outcome = await transfer(services, a, b, "40.50")

    assert outcome.response["posted"] == {a: 5950, b: 4050}
    assert (await wallet(services, a)).posted == 5950
    assert (await wallet(services, b)).posted == 4050
    await assert_ledger_sound(services)


async def test_a_transfer_to_the_same_wallet_is_refused(services: Services) -> None:
    a = await funded_wallet(services, "1.00")

    with pytest.raises(SameAccount):
        await transfer(services, a, a, "1.00")


@pytest.mark.parametrize("missing", ["source", "destination"])
async def test_a_transfer_with_a_missing_wallet_names_it(services: Services, missing: str) -> None:
    a = await funded_wallet(services, "1.00")
    source, target = ("wal_nope", a) if missing == "source" else (a, "wal_nope")

    with pytest.raises(WalletNotFound) as raised:
        await transfer(services, source, target, "1.00")

    assert raised.value.details == {"wallet_id": "wal_nope"}


async def test_a_transfer_in_a_currency_other_than_the_sources_is_currency_mismatch(services: Services) -> None:
    a = await funded_wallet(services, "1.00", "EUR")
    b = await create_wallet(services, "EUR")

    with pytest.raises(CurrencyMismatch):
        await transfer(services, a, b, "1.00", "USD")


async def test_a_cross_currency_transfer_converts_at_the_configured_rate_through_fx_accounts(
    services: Services,
) -> None:
    eur = await funded_wallet(services, "100.00", "EUR")
    usd = await create_wallet(services, "USD")

    await transfer(services, eur, usd, "10.00", "EUR")

    assert (await wallet(services, eur)).posted == 9000
    assert (await wallet(services, usd)).posted == 1080
    accounts = await balances(services)
    assert accounts["acc_fx_EUR"] == (1000, 0)
    assert accounts["acc_fx_USD"] == (-1080, 0)
    await assert_ledger_sound(services)


async def test_a_cross_currency_transfer_uses_the_inverse_rate_when_only_that_is_configured(services: Services) -> None:
    usd = await funded_wallet(services, "100.00", "USD")
    eur = await create_wallet(services, "EUR")

    await transfer(services, usd, eur, "10.80", "USD")

    assert (await wallet(services, eur)).posted == 1000


async def test_a_conversion_rounds_down_to_the_targets_minor_unit(services: Services) -> None:
    # 0.05 USD * 151.237 = 7.56185 JPY -> 7; 0.01 USD -> 1.51237 -> 1; 0.10 USD -> 15.1237 -> 15:
    # never more than the exact value (half-even rounding gave 8 and 2, and round trips made money).
    quote = services.get(WalletService).quote
    assert quote(Money.of(5, "USD"), "JPY").target == Money.of(7, "JPY")
    assert quote(Money.of(1, "USD"), "JPY").target == Money.of(1, "JPY")
    assert quote(Money.of(10, "USD"), "JPY").target == Money.of(15, "JPY")
    # And back: 3 JPY is worth 0.0198 USD -> 0.01 USD, which 2 JPY buys (1.51237 -> 2): 1 JPY of residue.
    back = quote(Money.of(3, "JPY"), "USD")
    assert (back.target, back.used, back.residue) == (Money.of(1, "USD"), Money.of(2, "JPY"), Money.of(1, "JPY"))


async def test_a_cross_currency_transfer_without_a_rate_is_fx_rate_unavailable(services: Services) -> None:
    gbp = await funded_wallet(services, "10.00", "GBP")
    usd = await create_wallet(services, "USD")

    with pytest.raises(FxRateUnavailable) as raised:
        await transfer(services, gbp, usd, "1.00", "GBP")

    assert raised.value.details == {"pair": "GBP/USD"}
    assert (await wallet(services, gbp)).posted == 1000


async def test_a_cross_currency_transfer_beyond_the_balance_is_insufficient_funds(services: Services) -> None:
    eur = await funded_wallet(services, "1.00", "EUR")
    usd = await create_wallet(services, "USD")

    with pytest.raises(InsufficientFunds):
        await transfer(services, eur, usd, "1.01", "EUR")

    await assert_ledger_sound(services)


async def test_wallets_list_a_page_at_a_time_in_id_order(services: Services) -> None:
    created = sorted([await create_wallet(services) for _ in range(5)])

    async def page(cursor: str | None) -> tuple[list[str], str | None]:
        result = await services.calls.read(lambda uow: services.get(WalletService).list_wallets(uow, cursor, 2))
        return [a.id for a in result.items], result.next_cursor

    first, cursor = await page(None)
    second, cursor2 = await page(cursor)
    third, end = await page(cursor2)

    assert first + second + third == created
    assert (len(first), len(second), len(third), end) == (2, 2, 1, None)


async def test_a_wallet_list_cursor_not_issued_by_the_server_is_invalid(services: Services) -> None:
    with pytest.raises(InvalidCursor):
        await services.calls.read(lambda uow: services.get(WalletService).list_wallets(uow, "bm90LWpzb24", 2))


async def test_a_statement_lists_entries_newest_first_with_the_balance_after_each(services: Services) -> None:
    a = await funded_wallet(services, "10.00")
    b = await create_wallet(services)
    await transfer(services, a, b, "3.00")
    await withdraw(services, a, "2.50")

    account, page = await services.calls.read(lambda uow: services.get(WalletService).statement(uow, a, None, 20))

    assert account.posted == 450
    assert [(line.kind, line.amount, line.balance_after) for line in page.items] == [
        ("withdrawal", -250, 450),
        ("transfer", -300, 700),
        ("fund", 1000, 1000),
    ]
    assert page.items[1].counterparties == (b,)
    assert page.next_cursor is None


async def test_a_statement_pages_keep_the_running_balance(services: Services) -> None:
    a = await create_wallet(services)
    for amount in ("1.00", "2.00", "3.00", "4.00"):
        await fund(services, a, amount)

    _, first = await services.calls.read(lambda uow: services.get(WalletService).statement(uow, a, None, 3))
    _, rest = await services.calls.read(lambda uow: services.get(WalletService).statement(uow, a, first.next_cursor, 3))

    assert [line.balance_after for line in first.items + rest.items] == [1000, 600, 300, 100]
    assert rest.next_cursor is None


async def test_the_ledger_check_counts_what_it_checked(services: Services) -> None:
    a = await funded_wallet(services, "10.00")
    b = await create_wallet(services)
    await transfer(services, a, b, "1.00")

    report = await services.calls.read(services.get(MonitoringService).check_ledger)

    assert report.ok
    assert (report.accounts_checked, report.transactions, report.entries) == (3, 2, 4)
    assert report.totals_by_currency == {"USD": 0}


async def test_health_reports_the_backend_and_a_current_schema(services: Services, backend: str) -> None:
    health = await services.get(MonitoringService).health()

    assert health.status == "ok"
    assert health.backend == backend
    assert health.database_reachable
    assert health.schema_revision == health.expected_revision
