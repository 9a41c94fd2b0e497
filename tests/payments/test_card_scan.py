"""The scanner that the PCI checks rely on: it must find card numbers however they are written, and not
mistake hashes, ids or timestamps for them."""

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
    ],
)
def test_the_scanner_finds_a_card_number_written_any_usual_way(text: str) -> None:
    assert card_numbers(text), text


@pytest.mark.parametrize(
    "text",
    [
        "4242424242424241",  # wrong check digit
        "424242424242",  # 12 digits
        "42424242424242424242",  # 20 digits
        "4242--4242-4242-4242",  # two separators: not one number
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
    assert card_numbers("hmac:4242424242424242") == ["4242424242424242"]
