"""The bad-input table: every row is refused with a clear code, a clean message, and no write at all."""

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from mcp.client import Client

from mcp_payments.domain.money import MAX_AMOUNT
from tests.conftest import Stack
from tests.helpers import funded_wallet, ok
from tests.server.rows import row_counter

pytestmark = pytest.mark.anyio

UNKNOWN_WALLET = "wal_00000000000000000000000000"
UNKNOWN_HOLD = "hld_00000000000000000000000000"
UNKNOWN_PAYMENT = "pay_00000000000000000000000000"
UNKNOWN_CUSTOMER = "cus_00000000000000000000000000"
TEN_KB = "x" * 10_240
CURSOR = "invalid_cursor"


def cursor_of(position: Any) -> str:
    """A cursor in the shape an earlier version issued (base64 of {"after": ...}), never signed by this server."""
    return base64.urlsafe_b64encode(json.dumps({"after": position}).encode()).decode().rstrip("=")


BAD = "invalid_argument"  # rejected by the input schema
AMOUNT = "invalid_amount"


@dataclass(frozen=True)
class Case:
    tool: str
    arguments: dict[str, Any]
    code: str


def fund(**arguments: Any) -> dict[str, Any]:
    return {"wallet_id": "$usd", "currency": "USD", **arguments}


def transfer(**arguments: Any) -> dict[str, Any]:
    return {"source_wallet_id": "$usd", "destination_wallet_id": "$usd2", "currency": "USD", **arguments}


def pay(**arguments: Any) -> dict[str, Any]:
    return {"currency": "USD", "amount": "10.00", "payment_method": "pm_card_visa", **arguments}


TABLE: dict[str, Case] = {
    # Floats: amounts are never floats, not even integral ones.
    "amount_minor-is-a-float": Case("fund_wallet", fund(amount_minor=12.5), BAD),
    "amount_minor-is-an-integral-float": Case("fund_wallet", fund(amount_minor=12.0), BAD),
    "amount-is-a-json-number": Case("fund_wallet", fund(amount=12.34), BAD),
    "transfer-amount_minor-is-a-float": Case("transfer_funds", transfer(amount_minor=0.5), BAD),
    "payment-amount-is-a-json-number": Case("create_payment", pay(amount=10.5), BAD),
    # More decimals than the currency has: an error, never a rounding.
    "usd-with-three-decimals": Case("fund_wallet", fund(amount="1.001"), AMOUNT),
    "jpy-with-one-decimal": Case("fund_wallet", {"wallet_id": "$jpy", "currency": "JPY", "amount": "1.5"}, AMOUNT),
    "kwd-with-four-decimals": Case(
        "get_fx_quote", {"source_currency": "KWD", "target_currency": "USD", "amount": "1.0001"}, AMOUNT
    ),
    "hold-of-half-a-cent": Case("hold_funds", fund(amount="0.005"), AMOUNT),
    "payment-with-three-decimals": Case("create_payment", pay(amount="10.001"), AMOUNT),
    # Zero and negative.
    "amount-zero": Case("fund_wallet", fund(amount="0"), AMOUNT),
    "amount-zero-with-decimals": Case("fund_wallet", fund(amount="0.00"), AMOUNT),
    "amount_minor-zero": Case("fund_wallet", fund(amount_minor=0), BAD),
    "amount-negative": Case("fund_wallet", fund(amount="-1.00"), AMOUNT),
    "amount_minor-negative-withdrawal": Case("withdraw_from_wallet", fund(amount_minor=-100), BAD),
    "transfer-negative": Case("transfer_funds", transfer(amount="-5"), AMOUNT),
    "payment-amount_minor-zero": Case("create_payment", pay(amount=None, amount_minor=0), BAD),
    "amount-with-exponent": Case("fund_wallet", fund(amount="1e3"), AMOUNT),
    "amount-blank": Case("fund_wallet", fund(amount=" "), AMOUNT),
    "both-amount-and-amount_minor": Case("fund_wallet", fund(amount="1.00", amount_minor=100), AMOUNT),
    "neither-amount-nor-amount_minor": Case("fund_wallet", fund(), AMOUNT),
    # Unknown currencies.
    "create-wallet-in-xyz": Case("create_wallet", {"currency": "XYZ"}, "unknown_currency"),
    "fund-in-xyz": Case("fund_wallet", fund(currency="XYZ", amount="1.00"), "unknown_currency"),
    "payment-in-xyz": Case("create_payment", pay(currency="XYZ"), "unknown_currency"),
    "quote-into-xyz": Case(
        "get_fx_quote", {"source_currency": "USD", "target_currency": "XYZ", "amount": "1"}, "unknown_currency"
    ),
    "create-wallet-in-gold": Case("create_wallet", {"currency": "XAU"}, "unknown_currency"),
    "currency-of-two-letters": Case("create_wallet", {"currency": "US"}, BAD),
    "wallet-in-another-currency": Case("fund_wallet", fund(wallet_id="$jpy", amount="1.00"), "currency_mismatch"),
    # Unknown but well-formed ids.
    "get-unknown-wallet": Case("get_wallet", {"wallet_id": UNKNOWN_WALLET}, "wallet_not_found"),
    "fund-unknown-wallet": Case("fund_wallet", fund(wallet_id=UNKNOWN_WALLET, amount="1.00"), "wallet_not_found"),
    "withdraw-from-unknown-wallet": Case(
        "withdraw_from_wallet", fund(wallet_id=UNKNOWN_WALLET, amount="1.00"), "wallet_not_found"
    ),
    "transfer-to-unknown-wallet": Case(
        "transfer_funds", transfer(destination_wallet_id=UNKNOWN_WALLET, amount="1.00"), "wallet_not_found"
    ),
    "statement-of-unknown-wallet": Case("get_wallet_statement", {"wallet_id": UNKNOWN_WALLET}, "wallet_not_found"),
    "capture-unknown-hold": Case("capture_hold", {"hold_id": UNKNOWN_HOLD}, "hold_not_found"),
    "release-unknown-hold": Case("release_hold", {"hold_id": UNKNOWN_HOLD}, "hold_not_found"),
    "get-unknown-payment": Case("get_payment", {"payment_id": UNKNOWN_PAYMENT}, "payment_not_found"),
    "refund-unknown-payment": Case("refund_payment", {"payment_id": UNKNOWN_PAYMENT}, "payment_not_found"),
    "capture-unknown-payment": Case("capture_payment", {"payment_id": UNKNOWN_PAYMENT}, "payment_not_found"),
    "get-unknown-customer": Case("get_customer", {"customer_id": UNKNOWN_CUSTOMER}, "customer_not_found"),
    "pay-for-unknown-customer": Case("create_payment", pay(customer_id=UNKNOWN_CUSTOMER), "customer_not_found"),
    "unknown-payment-method": Case("create_payment", pay(payment_method="pm_card_nope"), "unknown_payment_method"),
    # Malformed ids.
    "wallet-id-without-prefix": Case("get_wallet", {"wallet_id": "nope"}, BAD),
    "wallet-id-with-sql": Case("get_wallet", {"wallet_id": "wal_'; DROP TABLE accounts;--"}, BAD),
    "wallet-id-with-hold-prefix": Case("fund_wallet", fund(wallet_id=UNKNOWN_HOLD, amount="1.00"), BAD),
    "empty-source-wallet-id": Case("transfer_funds", transfer(source_wallet_id="", amount="1.00"), BAD),
    "hold-id-with-wallet-prefix": Case("capture_hold", {"hold_id": UNKNOWN_WALLET}, BAD),
    "payment-id-with-path": Case("get_payment", {"payment_id": "pay_../../etc/passwd"}, BAD),
    "ten-kb-wallet-id": Case("get_wallet", {"wallet_id": "wal_" + "A" * 10_240}, BAD),
    "same-source-and-destination": Case(
        "transfer_funds", transfer(destination_wallet_id="$usd", amount="1.00"), "same_account"
    ),
    # Larger than 2^63 and than 2^53 - 1 (the largest integer a JavaScript client holds exactly).
    "amount_minor-2^63": Case("fund_wallet", fund(amount_minor=2**63), BAD),
    "amount_minor-2^64-plus-1": Case("fund_wallet", fund(amount_minor=2**64 + 1), BAD),
    "amount_minor-2^53": Case("fund_wallet", fund(amount_minor=2**53), BAD),
    "amount-of-2^63-cents": Case("fund_wallet", fund(amount="92233720368547758.08"), AMOUNT),
    "amount-of-2^63-dollars": Case("fund_wallet", fund(amount="9223372036854775808"), AMOUNT),
    "amount-of-2^53-cents": Case("fund_wallet", fund(amount="90071992547409.92"), AMOUNT),
    "payment-amount_minor-2^63": Case("create_payment", pay(amount=None, amount_minor=2**63), BAD),
    "transfer-amount_minor-2^53": Case("transfer_funds", transfer(amount_minor=2**53), BAD),
    "amount_minor-2^53-minus-1": Case("fund_wallet", fund(amount_minor=2**53 - 1), BAD),
    # One more than the most one call may move (domain/money.py MAX_AMOUNT), in both spellings.
    "amount_minor-above-the-maximum": Case("fund_wallet", fund(amount_minor=MAX_AMOUNT + 1), BAD),
    "amount-above-the-maximum": Case("fund_wallet", fund(amount="10000000000.00"), AMOUNT),
    "jpy-amount-above-the-maximum": Case(
        "fund_wallet", {"wallet_id": "$jpy", "currency": "JPY", "amount": "1000000000000"}, AMOUNT
    ),
    "payment-above-the-maximum": Case("create_payment", pay(amount="10000000000.00"), AMOUNT),
    "hold-above-the-maximum": Case("hold_funds", fund(amount_minor=MAX_AMOUNT + 1), BAD),
    # Control characters in text: refused before anything stores or compares them (NUL breaks PostgreSQL).
    "wallet-name-with-nul": Case("create_wallet", {"currency": "USD", "name": "x\u0000y"}, BAD),
    "memo-with-nul": Case("fund_wallet", fund(amount="1.00", memo="rent\u0000"), BAD),
    "transfer-memo-with-escape": Case("transfer_funds", transfer(amount="1.00", memo="a\u001b[31mred"), BAD),
    "customer-name-with-nul": Case("create_customer", {"name": "Ada\u0000Lovelace"}, BAD),
    "customer-email-with-nul": Case("create_customer", {"email": "ada\u0000@example.com"}, BAD),
    "customer-description-with-nul": Case("create_customer", {"name": "Ada", "description": "\u0000"}, BAD),
    "payment-description-with-nul": Case("create_payment", pay(description="x\u0000"), BAD),
    "refund-reason-with-bell": Case("refund_payment", {"payment_id": UNKNOWN_PAYMENT, "reason": "\u0007"}, BAD),
    "list-customers-email-with-nul": Case("list_customers", {"email": "a\u0000@b.c"}, BAD),
    "list-customers-name-with-nul": Case("list_customers", {"name": "\u0000"}, BAD),
    "name-with-right-to-left-override": Case("create_wallet", {"currency": "USD", "name": "pay\u202eevil"}, BAD),
    "name-with-lone-surrogate": Case("create_wallet", {"currency": "USD", "name": "x\ud800"}, BAD),
    "name-with-c1-control": Case("create_wallet", {"currency": "USD", "name": "x\u0085y"}, BAD),
    "idempotency-key-with-nul": Case("create_wallet", {"currency": "USD", "idempotency_key": "key-\u0000-12345"}, BAD),
    "cursor-with-nul": Case("list_wallets", {"cursor": "\u0000"}, BAD),
    # Wrong JSON types.
    "amount-is-a-list": Case("fund_wallet", fund(amount=["1.00"]), BAD),
    "amount-is-an-object": Case("fund_wallet", fund(amount={"value": "1.00"}), BAD),
    "amount-is-a-bool": Case("fund_wallet", fund(amount=True), BAD),
    "amount_minor-is-a-bool": Case("fund_wallet", fund(amount_minor=True), BAD),
    "amount_minor-is-a-string": Case("fund_wallet", fund(amount_minor="100"), BAD),
    "currency-is-a-list": Case("create_wallet", {"currency": ["USD"]}, BAD),
    "wallet-id-is-a-number": Case("get_wallet", {"wallet_id": 12}, BAD),
    "memo-is-an-object": Case("fund_wallet", fund(amount="1.00", memo={"note": "x"}), BAD),
    "name-is-a-list": Case("create_wallet", {"currency": "USD", "name": ["a"]}, BAD),
    "idempotency-key-is-a-number": Case("create_wallet", {"currency": "USD", "idempotency_key": 12345678}, BAD),
    "limit-is-a-string": Case("list_wallets", {"limit": "10"}, BAD),
    "limit-is-a-bool": Case("list_wallets", {"limit": True}, BAD),
    "limit-over-100": Case("list_wallets", {"limit": 101}, BAD),
    "expiry-is-a-float": Case("hold_funds", fund(amount="1.00", expires_in_seconds=600.5), BAD),
    "capture-method-not-in-enum": Case("create_payment", pay(capture_method="sometimes"), BAD),
    "card-expiry-month-is-a-string": Case(
        "create_payment",
        pay(payment_method=None, card_number="4242424242424242", card_exp_month="12", card_exp_year=2030),
        BAD,
    ),
    # Empty strings.
    "empty-memo": Case("fund_wallet", fund(amount="1.00", memo=""), BAD),
    "empty-wallet-name": Case("create_wallet", {"currency": "USD", "name": ""}, BAD),
    "empty-idempotency-key": Case("fund_wallet", fund(amount="1.00", idempotency_key=""), BAD),
    "empty-amount": Case("fund_wallet", fund(amount=""), BAD),
    "empty-currency": Case("create_wallet", {"currency": ""}, BAD),
    "empty-customer-email": Case("create_customer", {"email": ""}, BAD),
    "empty-cursor": Case("list_wallets", {"cursor": ""}, BAD),
    "customer-with-neither-email-nor-name": Case("create_customer", {}, BAD),
    # 10 KB strings.
    "ten-kb-memo": Case("fund_wallet", fund(amount="1.00", memo=TEN_KB), BAD),
    "ten-kb-wallet-name": Case("create_wallet", {"currency": "USD", "name": TEN_KB}, BAD),
    "ten-kb-idempotency-key": Case("fund_wallet", fund(amount="1.00", idempotency_key=TEN_KB), BAD),
    "ten-kb-amount": Case("fund_wallet", fund(amount="1" * 10_240), BAD),
    "ten-kb-customer-name": Case("create_customer", {"name": TEN_KB}, BAD),
    "ten-kb-payment-description": Case("create_payment", pay(description=TEN_KB), BAD),
    "ten-kb-cursor": Case("list_wallets", {"cursor": TEN_KB}, BAD),
    "ten-kb-card-number": Case("create_payment", pay(payment_method=None, card_number="4" * 10_240), BAD),
    # Well-formed but not ours.
    "forged-cursor": Case("list_wallets", {"cursor": "garbage"}, CURSOR),
    # Cursors that decode to positions no query could take, or that this server never signed.
    "audit-cursor-past-64-bits": Case("get_audit_log", {"cursor": cursor_of(99999999999999999999)}, CURSOR),
    "statement-cursor-past-64-bits": Case(
        "get_wallet_statement", {"wallet_id": "$usd", "cursor": cursor_of(99999999999999999999)}, CURSOR
    ),
    "audit-cursor-negative": Case("get_audit_log", {"cursor": cursor_of(-1)}, CURSOR),
    "wallets-cursor-with-nul": Case("list_wallets", {"cursor": cursor_of("\u0000")}, CURSOR),
    "payments-cursor-with-nul": Case("list_payments", {"cursor": cursor_of("\u0000")}, CURSOR),
    "customers-cursor-with-nul": Case("list_customers", {"cursor": cursor_of("\u0000")}, CURSOR),
    "wallets-cursor-of-a-number": Case("list_wallets", {"cursor": cursor_of(5)}, CURSOR),
    "cursor-with-a-forged-signature": Case("list_wallets", {"cursor": "IndhbF8wMCI.AAAAAAAAAAAAAAAA"}, CURSOR),
    "time-without-zone": Case("list_payments", {"created_from": "2026-01-01T00:00:00"}, BAD),
}

_TRACEBACK = re.compile(r"Traceback|File \"|line \d+, in ")
_SQL = re.compile(
    r"\b(SELECT|INSERT|UPDATE|DELETE)\b.*\b(FROM|INTO|SET|WHERE)\b|sqlalchemy|asyncpg|aiosqlite|sqlite3", re.I
)


@pytest.fixture
async def wallets(client: Client) -> dict[str, str]:
    """A funded USD wallet, an empty one, and a funded JPY wallet for the table's rows to aim at."""
    return {
        "$usd": await funded_wallet(client, "100.00"),
        "$usd2": await funded_wallet(client, "0"),
        "$jpy": await funded_wallet(client, "1000", "JPY"),
    }


def resolve(arguments: dict[str, Any], wallets: dict[str, str]) -> dict[str, Any]:
    return {k: wallets.get(v, v) if isinstance(v, str) else v for k, v in arguments.items() if v is not None}


async def test_bad_input_is_refused_with_a_clear_code_and_writes_nothing(
    stack: Stack, client: Client, wallets: dict[str, str], subtests: pytest.Subtests
) -> None:
    # One database per backend for the whole table (a database per row is slow); each row is its own subtest.
    async with row_counter(stack.settings.db_url) as count:
        for name, case in TABLE.items():
            with subtests.test(name):
                before = await count()
                result = await client.call_tool(case.tool, resolve(case.arguments, wallets))
                after = await count()
                assert result.is_error, f"{case.tool} accepted it: {result.structured_content}"
                assert_refusal(result.content[0].text, result.structured_content, case.code)  # type: ignore[union-attr]
                assert after == before, "a refused call wrote rows"


def assert_refusal(text: str, structured: dict[str, Any] | None, code: str) -> None:
    body = json.loads(text)
    assert set(body) == {"code", "message", "retryable", "details"}
    assert structured in (None, body)
    assert body["code"] == code, body
    assert body["retryable"] is False
    assert isinstance(body["details"], dict)
    message = body["message"]
    assert isinstance(message, str)
    assert message
    assert not _TRACEBACK.search(text), text
    assert not _SQL.search(message), message
    assert len(text) < 2_000, "a long value must not be echoed back"


async def test_the_largest_amount_of_one_call_is_accepted(client: Client) -> None:
    wallet = await funded_wallet(client, "0")
    moved = await ok(client, "fund_wallet", wallet_id=wallet, currency="USD", amount_minor=MAX_AMOUNT)
    assert moved["wallet"]["posted"]["amount_minor"] == MAX_AMOUNT
    assert moved["wallet"]["posted"]["amount"] == "9999999999.99"
