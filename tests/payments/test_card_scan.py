"""The scanner that the PCI checks rely on: it must find card numbers however they are written, and not
mistake hashes, ids or timestamps for them."""

import json
from collections.abc import Callable

import pytest

from mcp_payments.adapters.providers.sandbox import TEST_CARDS
from tests.payments.card_scan import card_numbers, luhn

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("number", sorted({card.number for card in TEST_CARDS.values()}))
def test_every_sandbox_test_card_is_a_luhn_valid_number_the_scanner_finds(number: str) -> None:
    assert luhn(number)
    assert card_numbers(f"paid with {number}.") == [number]


@pytest.mark.parametrize(
    "text",
    [
        "4242424242424242",
        "card 4242 4242 4242 4242 here",
        "4242-4242-4242-4242",
        '{"card_number": "4000 0000 0000 0259"}',
        "unknown payment method 'pm_4242424242424242'",
        "378282246310005",  # 15-digit Amex
        "6011111111111117",
        "4222222222222",  # 13 digits
        "6200000000000000000",  # 19 digits
        "4242 4242 4242 4242 99",  # a card number followed by another number
        "4242.4242.4242.4242",
        "4242_4242_4242_4242",
        "4242/4242/4242/4242",
        "4242,4242,4242,4242",
        "4242  4242  4242  4242",
        "4242 - 4242 - 4242 - 4242",
        "4242--4242-4242-4242",
        "4242\t4242\t4242\t4242",
        "4242\n4242\r\n4242\r4242",
        "4242\u00a04242\u20134242\u22124242",  # no-break space, en dash, minus sign
        "4242\uff0d4242\uff0e4242\uff0f4242",  # full-width hyphen-minus, full stop, solidus
        "４２４２４２４２４２４２４２４２",  # full-width digits
        "٤٢٤٢ ٤٢٤٢ ٤٢٤٢ ٤٢٤٢",  # Arabic-Indic digits
        "00004242424242424242",  # inside a 20-digit run
        "42424242424242424242",
        "4242424242424241",  # fails the check digit, but its first 15 digits pass it
    ],
)
def test_the_scanner_finds_a_card_number_written_any_usual_way(text: str) -> None:
    assert card_numbers(text), text


@pytest.mark.parametrize(
    "text",
    [
        "1234567812345678",  # wrong check digit, and no 13-15 of its digits in a row pass it either
        "424242424242",  # 12 digits
        "4242:4242:4242:4242",  # colons are not separators
        "4242    4242    4242    4242",  # nor are four spaces
        "2026/11/30, 2026/12/01",
        "+44 20 7946 0958",
        "0" * 64,  # the audit chain's genesis hash: no card number starts with 0
        "0000 0000 0000 0000",
        "b36613e7d4242424242424242b66c82748b5f814612d8ad1939b76a33e",  # a hash with a Luhn-valid digit run
        "pay_01M8B9E04VKJ61SQ8RM5FSSP4Z",
        "2026-01-01 00:00:00.000000+00:00 | 1767225600",
        "visa ending 4242, fingerprint 3f9c",
        "amount 4242.42 USD",
    ],
)
def test_the_scanner_ignores_what_is_not_a_card_number(text: str) -> None:
    assert card_numbers(text) == []


def test_a_digit_run_glued_to_letters_is_part_of_an_identifier_and_not_reported() -> None:
    assert card_numbers("abc4242424242424242") == []
    assert card_numbers("abc００００4242424242424242") == []
    assert card_numbers("hmac:4242424242424242") == ["4242424242424242"]


def test_a_card_number_is_reported_once_as_ascii_digits_not_again_for_each_shorter_number_inside_it() -> None:
    assert card_numbers("４２４２.４２４２.４２４２.４２４２") == ["4242424242424242"]
    assert card_numbers("a 4242424242424242 b 5555-5555-5555-4444 c") == ["4242424242424242", "5555555555554444"]


@pytest.mark.parametrize(
    "memo",
    [
        "4242\t4242\n4242\r\n4242",
        "４２４２４２４２４２４２４２４２",
        "4242\u00a04242\u30004242\u20094242",
        "\U0001d7d2\U0001d7d0" * 8,  # mathematical bold digits, beyond U+FFFF: two surrogates in JSON
    ],
)
@pytest.mark.parametrize(
    "write",
    [
        lambda memo: json.dumps({"memo": memo}),
        lambda memo: json.dumps({"text": json.dumps({"memo": memo}, indent=2)}),  # a tool result's text
        lambda memo: repr({"memo": memo}),  # a log event as the payments fixture scans it
    ],
    ids=["json", "json in json", "repr"],
)
def test_the_scanner_finds_a_card_number_behind_json_or_repr_escapes(memo: str, write: Callable[[str], str]) -> None:
    assert card_numbers(write(memo)) == ["4242424242424242"]
