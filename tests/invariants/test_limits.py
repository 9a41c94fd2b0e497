"""Balances stay inside the ledger's limits, and a value past them is a clear error, never a float or an outage.

Regression: SQLite accepted 1,030 calls of fund_wallet(2^53 - 1); from about call 1,025 the balances were
stored as floating-point values, get_wallet was a minor unit off, and check_ledger_integrity answered
service_unavailable. On PostgreSQL call 1,025 was internal_error (bigint out of range).
"""

from typing import Any

import pytest
from mcp.client import Client

from mcp_payments.domain.money import MAX_AMOUNT, MAX_BALANCE
from mcp_payments.server import errors
from tests.conftest import Stack
from tests.helpers import err, funded_wallet, ok
from tests.server.rows import row_counter
from tests.tamper import owner

pytestmark = pytest.mark.anyio


async def posted(client: Client, wallet: str) -> dict[str, Any]:
    return dict((await ok(client, "get_wallet", wallet_id=wallet))["posted"])


async def test_a_wallet_fills_up_to_the_maximum_balance_exactly_and_no_further(client: Client, stack: Stack) -> None:
    wallet = await funded_wallet(client, "0")
    calls = MAX_BALANCE // MAX_AMOUNT  # 1,000 calls of the largest amount
    for i in range(calls):
        key = f"max-fund-{i}"
        await ok(client, "fund_wallet", wallet_id=wallet, currency="USD", amount_minor=MAX_AMOUNT, idempotency_key=key)
    await ok(client, "fund_wallet", wallet_id=wallet, currency="USD", amount_minor=MAX_BALANCE % MAX_AMOUNT)

    async with row_counter(stack.settings.db_url) as count:
        before = await count()
        refused = await err(client, "fund_wallet", wallet_id=wallet, currency="USD", amount_minor=1)
        assert await count() == before, "the refusal wrote nothing"

    assert refused["code"] == "balance_limit_exceeded"
    assert refused["retryable"] is False
    assert refused["details"]["limit"] == "9999999999999.99"
    assert await posted(client, wallet) == {
        "amount": "9999999999999.99",
        "amount_minor": MAX_BALANCE,
        "currency": "USD",
    }
    assert (await ok(client, "check_ledger_integrity"))["ok"]


async def test_a_transfer_into_a_full_wallet_is_refused_and_moves_nothing(client: Client) -> None:
    full, source = await funded_wallet(client, "0"), await funded_wallet(client, "10.00")
    for i in range(MAX_BALANCE // MAX_AMOUNT):
        key = f"fill-up-{i}"
        await ok(client, "fund_wallet", wallet_id=full, currency="USD", amount_minor=MAX_AMOUNT, idempotency_key=key)
    await ok(client, "fund_wallet", wallet_id=full, currency="USD", amount_minor=MAX_BALANCE % MAX_AMOUNT)

    refused = await err(
        client, "transfer_funds", source_wallet_id=source, destination_wallet_id=full, currency="USD", amount="0.01"
    )

    assert refused["code"] == "balance_limit_exceeded"
    assert (await posted(client, source))["amount"] == "10.00"
    assert (await posted(client, full))["amount_minor"] == MAX_BALANCE


async def test_a_balance_stored_as_a_float_behind_the_servers_back_is_reported_not_an_outage(
    client: Client, stack: Stack, backend: str
) -> None:
    wallet = await funded_wallet(client, "10.00")

    async with owner(stack.settings.db_url) as sql:
        if backend == "postgresql":  # bigint holds no fraction: an owner changes the column's type first
            await sql("ALTER TABLE accounts ALTER COLUMN posted TYPE numeric")
        await sql(f"UPDATE accounts SET posted = 1000.5 WHERE id = '{wallet}'")
    report = await ok(client, "check_ledger_integrity")
    read = await err(client, "get_wallet", wallet_id=wallet)

    assert not report["ok"]
    assert report["problems"] == [f"account {wallet} holds a money value that is not an integer"]
    assert read["code"] == "data_error"
    assert read["retryable"] is False


async def test_entries_whose_sum_overflows_are_reported_not_an_outage(
    client: Client, stack: Stack, backend: str
) -> None:
    wallet = await funded_wallet(client, "10.00")
    huge = 2**62

    async with owner(stack.settings.db_url) as sql:
        if backend == "postgresql":
            await sql("ALTER TABLE entries DROP CONSTRAINT ck_entries_within_limits")
        await sql(
            "INSERT INTO entries (transaction_id, account_id, amount, currency) "
            f"SELECT transaction_id, account_id, {huge}, currency FROM entries WHERE account_id = '{wallet}'"
        )
        await sql(
            "INSERT INTO entries (transaction_id, account_id, amount, currency) "
            f"SELECT transaction_id, account_id, {huge}, currency FROM entries WHERE account_id = '{wallet}' "
            f"AND amount = {huge}"
        )
    report = await ok(client, "check_ledger_integrity")

    assert not report["ok"]
    assert report["problems"], "the sums overflow 64 bits on SQLite; PostgreSQL sums exactly and reports them"
    assert all("cannot be reached" not in problem for problem in report["problems"])


async def test_a_system_balance_at_the_edge_of_64_bits_makes_a_clear_error_not_an_internal_one(
    client: Client, stack: Stack, backend: str
) -> None:
    wallet = await funded_wallet(client, "10.00")
    edge = -(2**63) + 1000

    async with owner(stack.settings.db_url) as sql:
        if backend == "postgresql":
            await sql("ALTER TABLE accounts DROP CONSTRAINT ck_accounts_within_limits")
        await sql(f"UPDATE accounts SET posted = {edge} WHERE id = 'acc_external_USD'")
    refused = await err(client, "fund_wallet", wallet_id=wallet, currency="USD", amount="20.00")
    report = await ok(client, "check_ledger_integrity")

    assert refused["code"] in {"balance_limit_exceeded", "data_error"}
    assert refused["retryable"] is False
    assert (await posted(client, wallet))["amount"] == "10.00"
    assert not report["ok"]
    assert f"account acc_external_USD holds {edge}, past the ledger's limits" in report["problems"]


def test_an_internal_error_is_not_retryable_and_does_not_ask_for_a_retry() -> None:
    result = errors.internal_error()

    body = result.content[0].text  # type: ignore[union-attr]
    assert '"retryable": false' in body
    assert "Do not repeat the call unchanged" in body
