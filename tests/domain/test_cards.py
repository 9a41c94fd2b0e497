"""Card numbers in free text, however they are spelt, and the card checks the sandbox provider relies on.

`cards_in` below is the definition of a card number written again, without the code under test and
without regular expressions: digit groups of any script joined by one to three separators; a card
number is a Luhn-valid stretch of 13-19 digits made of whole groups, or lying inside one group.
"""

import hashlib
import hmac
import random
import unicodedata

import pytest

from mcp_payments.domain.cards import brand_of, check_card, fingerprint, luhn_valid, mask_card_numbers
from mcp_payments.domain.errors import InvalidCard

pytestmark = pytest.mark.anyio

SEPARATORS = "-._/,\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0c\uff0d\uff0e\uff0f\uff3f"
# U+0660-U+0669: Arabic-Indic digits; U+FF10-U+FF19: full-width digits.
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def luhn(digits: str) -> bool:
    doubled = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9]
    return sum(doubled[int(d)] if i % 2 else int(d) for i, d in enumerate(reversed(digits))) % 10 == 0


def runs(text: str) -> list[list[str]]:
    """Each run of digit groups in the text, every group's digits in ASCII."""
    found: list[list[str]] = []
    gap: str | None = None  # the separators since the last digit; None outside a run
    for char in text:
        if char.isdecimal():
            digit = str(unicodedata.decimal(char))
            if gap == "":
                found[-1][-1] += digit
            elif gap is not None and len(gap) <= 3:
                found[-1].append(digit)
            else:
                found.append([digit])
            gap = ""
        elif gap is not None and (char.isspace() or char in SEPARATORS):
            gap += char
        else:
            gap = None
    return found


def cards_in(text: str) -> list[str]:
    """Every Luhn-valid 13-19 digit number in the text not led by a 0 (no issuer's is), as ASCII digits."""
    found = []
    for groups in runs(text):
        for first in range(len(groups)):
            for last in range(first + 1, len(groups) + 1):
                digits = "".join(groups[first:last])
                if 13 <= len(digits) <= 19 and luhn(digits) and digits[0] != "0":
                    found.append(digits)
        for group in groups:
            for first in range(len(group)):
                for last in range(first + 13, min(first + 19, len(group)) + 1):
                    if luhn(group[first:last]) and group[first] != "0":
                        found.append(group[first:last])
    return found


CARD = "4242424242424242"
SPELLINGS = [
    # (text, masked)
    ("4242424242424242", "****4242"),
    ("4242 4242 4242 4242", "****4242"),
    ("4242-4242-4242-4242", "****4242"),
    ("4242.4242.4242.4242", "****4242"),
    ("4242_4242_4242_4242", "****4242"),
    ("4242/4242/4242/4242", "****4242"),
    ("4242,4242,4242,4242", "****4242"),
    ("4242  4242  4242  4242", "****4242"),
    ("4242 - 4242 - 4242 - 4242", "****4242"),
    ("4242\t4242\t4242\t4242", "****4242"),
    ("4242\n4242\n4242\n4242", "****4242"),
    ("4242\r\n4242\r\n4242\r\n4242", "****4242"),
    ("4242\r4242\r4242\r4242", "****4242"),
    ("4242\u00a04242\u00a04242\u00a04242", "****4242"),  # no-break space
    ("4242\u202f4242\u20094242\u3000" + "4242", "****4242"),  # narrow no-break, thin, ideographic space
    ("4242\u20134242\u20144242\u22124242", "****4242"),  # en dash, em dash, minus sign
    ("4242\u20104242\u20114242\u20154242", "****4242"),  # hyphen, non-breaking hyphen, horizontal bar
    ("4242\uff0d4242\uff0e4242\uff0f4242", "****4242"),  # full-width hyphen-minus, full stop, solidus
    ("4242\uff0c4242\uff3f4242\uff0c4242", "****4242"),  # full-width comma, low line
    ("4242 -4242._4242/ 4242", "****4242"),  # mixed separators
    ("4242 4242-4242.4242", "****4242"),
    (CARD.translate(FULL_WIDTH), "****4242"),
    ("４２４２ ４２４２ ４２４２ ４２４２", "****4242"),
    (CARD.translate(ARABIC_INDIC), "****4242"),
    ("٤٢٤٢-٤٢٤٢-٤٢٤٢-٤٢٤٢", "****4242"),
    ("4242 ４２４２ ٤٢٤٢ 4242", "****4242"),  # digits of three scripts in one number
    ("00004242424242424242", "0000****4242"),  # inside a 20-digit run (no card number starts with 0)
    ("98764242424242424242", "****4242"),  # inside a 20-digit run
    ("ref 424242424242424277 ok", "ref ****424277 ok"),  # glued to other digits
    ("ref 774242424242424242 ok", "ref 77****4242 ok"),
    ("4242 4242 4242 4242 was declined", "****4242 was declined"),
    ("the customer paid by 4242.4242.4242.4242 on Monday", "the customer paid by ****4242 on Monday"),
    ("card: 4242424242424242.", "card: ****4242."),
    ("4242 4242 4242 4242 and 5555-5555-5555-4444", "****4242 and ****4444"),
    ("4242424242424242, 5555555555554444", "****4242, ****4444"),
    ("qty 2 4242 4242 4242 4242", "qty 2 ****4242"),
    ("2026 4242 4242 4242 4242", "2026 ****4242"),
    ("4242 4242 4242 4242 99", "****4242 99"),
    ("order 12, card 4242 4242 4242 4242, 3 items", "order 12, card ****4242, 3 items"),
    ("pm_4242424242424242", "pm_****4242"),
    ("4222222222222", "****2222"),  # 13 digits
    ("4222 2222 22222", "****2222"),
    ("6200000000000000000", "****0000"),  # 19 digits
    ("6200 0000 0000 0000 000", "****0000"),
    ("3782 822463 10005", "****0005"),  # 15-digit Amex, grouped 4-6-5
]
UNCHANGED = [
    "wal_01JB8Z3Q4N5P6R7S8T9V0W1X2Y",
    "pay_01M8B9E04VKJ61SQ8RM5FSSP4Z",
    "idem_2026_01_30_order_118_retry_3",
    "12.34",
    "amount 4242.42 USD",
    "2026/11/30, 2026/12/01",
    "2026-01-01 00:00:00.000000+00:00",
    "+1 (415) 555-2671",
    "+44 20 7946 0958",
    "1234567812345678",  # 16 digits, Luhn-invalid, and no 13-15 of them in a row are Luhn-valid either
    "1234 5678 1234 5678",
    "424242424242",  # 12 digits
    "4242 4242 4242",
    "4242:4242:4242:4242",  # colons: a time, not a separator
    "4242a4242b4242c4242",  # letters are not separators
    "4242    4242    4242    4242",  # four spaces end a run
]


def test_the_tables_say_what_they_claim() -> None:
    for text, _ in SPELLINGS:
        assert cards_in(text), text
    for text in UNCHANGED:
        assert cards_in(text) == [], text
    assert not luhn("1234567812345678")


@pytest.mark.parametrize(("text", "masked"), SPELLINGS)
def test_a_card_number_is_masked_to_its_last_four_digits_however_it_is_spelt(text: str, masked: str) -> None:
    assert mask_card_numbers(text) == masked
    assert cards_in(mask_card_numbers(text)) == []


@pytest.mark.parametrize("text", UNCHANGED)
def test_what_is_not_a_card_number_is_left_as_typed(text: str) -> None:
    assert mask_card_numbers(text) == text


@pytest.mark.parametrize("separator", [" ", "\t", "\n", "\u00a0", "\u3000", *SEPARATORS])
@pytest.mark.parametrize("width", [1, 2, 3])
def test_every_separator_is_taken_singly_or_in_runs_of_up_to_three(separator: str, width: int) -> None:
    text = f"paid {(separator * width).join(['5555', '5555', '5555', '4444'])} today"

    assert mask_card_numbers(text) == "paid ****4444 today"


def test_a_number_that_fails_the_check_digit_is_masked_where_13_to_19_of_its_digits_pass_it() -> None:
    # A card may be glued to other digits, so inside one group every stretch of 13-19 digits is a
    # candidate: 4242424242424241 fails the check digit, its first 15 digits pass it.
    assert not luhn("4242424242424241")
    assert luhn("424242424242424")

    assert mask_card_numbers("order 4242424242424241") == "order ****24241"


def test_a_card_number_made_of_a_masked_ones_last_four_digits_and_the_digits_after_it_is_masked_too() -> None:
    text = "4242424242424242 4242 4242 4242"  # once masked: ****4242 4242 4242 4242

    assert mask_card_numbers(text) == "********4242"
    assert cards_in(mask_card_numbers(text)) == []


def test_overlapping_card_numbers_are_masked_once_to_the_last_four_digits_of_them_all() -> None:
    # Several Luhn-valid windows of this 20-digit run overlap: one mask, the run's last four digits.
    text = "x 98764242424242424242 y"
    assert len(cards_in(text)) > 1

    assert mask_card_numbers(text) == "x ****4242 y"


def test_card_numbers_side_by_side_are_each_masked() -> None:
    # A 19-digit card followed at once by a 16-digit one (the zeros between lead no card of their own).
    text = "x 62000000000000000004242424242424242 y"

    assert mask_card_numbers(text) == "x ****0000****4242 y"


def test_no_card_number_is_left_in_random_text_of_digits_separators_and_letters() -> None:
    alphabet = "0123456789" * 6 + "４２" + "٤" + " -./,_\t\n\u00a0\u2013\uff0e" * 2 + "ab:*"
    rng = random.Random(8)
    for _ in range(3000):
        text = "".join(rng.choices(alphabet, k=rng.randint(13, 60)))
        assert cards_in(mask_card_numbers(text)) == [], repr(text)


def test_text_with_no_card_number_is_returned_as_the_same_object() -> None:
    text = "an id wal_01JB8Z3Q4N5P6R7S8T9V0W1X2Y and 12.34 USD, ご注文ありがとうございます"

    assert mask_card_numbers(text) is text


@pytest.mark.parametrize(
    "digits", ["4242424242424242", "5555555555554444", "378282246310005", "4222222222222", "6200000000000000000", "0"]
)
def test_luhn_valid_accepts_a_correct_check_digit(digits: str) -> None:
    assert luhn_valid(digits)


@pytest.mark.parametrize(
    "digits",
    [
        "4242424242424241",
        "1234567812345678",
        "",
        "4242 4242 4242 4242",
        "4242-4242-4242-4242",
        "4242x",
        CARD.translate(FULL_WIDTH),  # callers turn digits into ASCII first
        "²" * 16,  # a digit to str.isdigit, but not a decimal digit
    ],
)
def test_luhn_valid_refuses_a_wrong_check_digit_or_anything_but_ascii_digits(digits: str) -> None:
    assert not luhn_valid(digits)


@pytest.mark.parametrize(
    ("digits", "brand"),
    [
        ("4242424242424242", "visa"),
        ("4000056655665556", "visa"),
        ("5105105105105100", "mastercard"),
        ("5555555555554444", "mastercard"),
        ("2221000000000009", "mastercard"),
        ("2720990000000007", "mastercard"),
        ("2220990000000000", "unknown"),
        ("2721000000000000", "unknown"),
        ("5000000000000000", "unknown"),
        ("5600000000000000", "unknown"),
        ("378282246310005", "amex"),
        ("341111111111111", "amex"),
        ("351111111111111", "unknown"),
        ("6011111111111117", "discover"),
        ("6500000000000002", "discover"),
        ("6200000000000000000", "unknown"),
        ("3056930009020004", "unknown"),
    ],
)
def test_brand_of_reads_the_brand_from_the_leading_digits(digits: str, brand: str) -> None:
    assert brand_of(digits) == brand


def test_check_card_returns_the_digits_without_spaces_or_dashes() -> None:
    for number in ("4242424242424242", "4242 4242 4242 4242", "4242-4242-4242-4242", "4242 - 4242 4242-4242"):
        assert check_card(number, 12, 2030, year_now=2026, month_now=1) == CARD


@pytest.mark.parametrize(
    "number",
    [
        "4242424242424241",  # check digit
        "424242424242",  # 12 digits
        "42424242424242424242",  # 20 digits
        "4242.4242.4242.4242",  # only spaces and dashes are taken out
        CARD.translate(FULL_WIDTH),
    ],
)
def test_check_card_refuses_a_number_of_the_wrong_length_check_digit_or_characters(number: str) -> None:
    with pytest.raises(InvalidCard, match="wrong length or check digit"):
        check_card(number, 12, 2030, year_now=2026, month_now=1)


@pytest.mark.parametrize("month", [0, 13])
def test_check_card_refuses_a_month_outside_1_to_12(month: int) -> None:
    with pytest.raises(InvalidCard, match="between 1 and 12"):
        check_card(CARD, month, 2030, year_now=2026, month_now=1)


@pytest.mark.parametrize(("month", "year"), [(12, 2025), (5, 2026)])
def test_check_card_refuses_a_card_whose_expiry_has_passed(month: int, year: int) -> None:
    with pytest.raises(InvalidCard, match="expiry date has passed"):
        check_card(CARD, month, year, year_now=2026, month_now=6)


def test_check_card_accepts_a_card_that_expires_this_month() -> None:
    assert check_card(CARD, 6, 2026, year_now=2026, month_now=6) == CARD


def test_a_fingerprint_is_a_keyed_hmac_the_same_for_the_same_card_and_key_only() -> None:
    printed = fingerprint(CARD, b"key")

    assert printed == hmac.new(b"key", CARD.encode(), hashlib.sha256).hexdigest()[:32]
    assert len(printed) == 32
    assert fingerprint(CARD, b"key") == printed
    assert fingerprint(CARD, b"other key") != printed
    assert fingerprint("5555555555554444", b"key") != printed
    assert cards_in(printed) == []
