"""Card data that may be kept: brand, last four digits, expiry and a keyed fingerprint. Never the number."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mcp_payments.domain.errors import InvalidCard


def luhn_valid(digits: str) -> bool:
    """Whether ASCII `digits` end in a correct Luhn check digit (other characters: False)."""
    if not (digits.isascii() and digits.isdigit()):
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# What may stand between the digit groups of a number as people (or agents) type it: any space (tab,
# newline, no-break and the other Unicode spaces), a dash, dot, underscore, slash or comma, also as
# Unicode dashes and minus and as their full-width forms. Not letters and not colons (a time of day).
_SEPARATOR = r"[\s\-._/,\u2010-\u2015\u2212\uff0c\uff0d\uff0e\uff0f\uff3f]"
# \d is any Unicode decimal digit (full-width, Arabic-Indic...), as re has it for str patterns.
# A run is digit groups joined by one to three separators; four or more end it.
_DIGIT_RUN = re.compile(rf"\d+(?:{_SEPARATOR}{{1,3}}\d+)*")
_GROUP = re.compile(r"\d+")
# What any card number needs: 13 digits, at most three separators between two. Most text (every id)
# has no such stretch, and one search says so at a fraction of the cost of looking at each digit run.
# (Separators and digits never overlap, so the possessive {0,3}+ loses nothing and saves backtracking.)
_CANDIDATE = re.compile(rf"\d(?:{_SEPARATOR}{{0,3}}+\d){{12}}")
# The same search with [0-9], which re tests much faster than \d's Unicode table: for text all in
# ASCII (nearly all text), where both find the same.
_ASCII_CANDIDATE = re.compile(rf"[0-9](?:{_SEPARATOR}{{0,3}}+[0-9]){{12}}")


def may_hold_card_number(text: str) -> bool:
    """False when `text` has no 13 digits close enough together to be a card number (a cheap search)."""
    return (_ASCII_CANDIDATE if text.isascii() else _CANDIDATE).search(text) is not None


@dataclass(frozen=True, slots=True)
class DigitRun:
    """Digit groups joined by short runs of separators, as found in a text."""

    start: int
    end: int
    groups: tuple[tuple[int, str], ...]  # each group's offset in the text and its digits, in ASCII

    @property
    def digits(self) -> str:
        return "".join(digits for _, digits in self.groups)


def long_digit_runs(text: str) -> Iterator[DigitRun]:
    """Every run of 13 or more digits in `text`, in any script, with any of the separators people use."""
    for run in _DIGIT_RUN.finditer(text):
        if run.end() - run.start() < 13:
            continue  # too short to hold 13 digits: most runs (amounts, dates) end here
        groups = tuple((run.start() + group.start(), _ascii(group.group())) for group in _GROUP.finditer(run.group()))
        if sum(len(digits) for _, digits in groups) >= 13:
            yield DigitRun(run.start(), run.end(), groups)


def _ascii(digits: str) -> str:
    return digits if digits.isascii() else "".join(str(unicodedata.decimal(d)) for d in digits)


def mask_card_numbers(text: str) -> str:
    """Replace every Luhn-valid 13-19 digit number by ****last4, however it is spelt.

    A card number is a stretch of whole digit groups of a run ("qty 2 4242 4242 4242 4242" keeps its
    "qty 2"), or any stretch of 13-19 digits inside one group of 14 or more (a card glued to other
    digits). Card numbers that overlap are masked as one. Masking repeats until nothing changes, so no
    card number is left straddling what was just masked.
    """
    while may_hold_card_number(text) and (masked := _mask_once(text)) != text:
        text = masked
    return text


def _mask_once(text: str) -> str:
    out: list[str] = []
    done = 0
    for run in long_digit_runs(text):
        digits = run.digits
        offsets = [offset + i for offset, group in run.groups for i in range(len(group))]
        for first, last in _merged(_card_numbers(run)):
            out += (text[done : offsets[first]], "****", digits[last - 4 : last])
            done = offsets[last - 1] + 1
    return "".join(out) + text[done:]


def _card_numbers(run: DigitRun) -> Iterator[tuple[int, int]]:
    """Where card numbers are in the run's digits, as (first, last + 1); they may overlap."""
    digits = run.digits
    ends = list(itertools.accumulate(len(group) for _, group in run.groups))
    starts = [0, *ends[:-1]]
    group_starts = set(starts)
    for last in ends:  # stretches of whole groups
        yield from ((first, last) for first in _luhn_starts(digits, last, 0) if first in group_starts)
    for start, end in zip(starts, ends, strict=True):  # any 13-19 digits inside one long group
        if end - start >= 14:
            for last in range(start + 13, end + 1):
                yield from ((first, last) for first in _luhn_starts(digits, last, start))


_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # a digit's Luhn weight where it is doubled


def _luhn_starts(digits: str, last: int, earliest: int) -> Iterator[int]:
    """Every `first` >= earliest where digits[first:last] is 13-19 digits, not led by a 0, that pass the Luhn check.

    The check digit is the rightmost, so the sum is taken leftwards from `last`, one digit at a time:
    all seven lengths for the price of the longest (a run of 500 digits stays cheap)."""
    total = 0
    for first in range(last - 1, max(earliest, last - 19) - 1, -1):
        digit = ord(digits[first]) - 48  # ASCII by now
        total += _DOUBLED[digit] if (last - first) % 2 == 0 else digit
        # No issuer's number starts with 0 (ISO/IEC 7812 gives the first digit 0 to no card industry): that
        # spares runs of zeros, such as placeholder ids (wal_000...) and the audit chain's genesis hash.
        if last - first >= 13 and total % 10 == 0 and digits[first] != "0":
            yield first


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for first, last in sorted(spans):
        if merged and first < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def brand_of(digits: str) -> str:
    if digits.startswith("4"):
        return "visa"
    if digits[:2] in {"51", "52", "53", "54", "55"} or 2221 <= int(digits[:4]) <= 2720:
        return "mastercard"
    if digits[:2] in {"34", "37"}:
        return "amex"
    if digits.startswith("6011") or digits.startswith("65"):
        return "discover"
    return "unknown"


@dataclass(frozen=True, slots=True)
class PaymentMethod:
    """What may be kept of a card: no number, no CVC. `scenario` is how the provider will treat it."""

    brand: str
    last4: str
    exp_month: int
    exp_year: int
    fingerprint: str
    scenario: str
    # The issuing country as the provider reports it when the card is tokenized (ISO 3166-1 alpha-2), for fraud
    # scoring; not kept with the payment (None when read back).
    country: str | None = None


def check_card(number: str, exp_month: int, exp_year: int, *, year_now: int, month_now: int) -> str:
    """The card's digits, after checking length, check digit and expiry."""
    digits = number.replace(" ", "").replace("-", "")
    if not (13 <= len(digits) <= 19) or not luhn_valid(digits):
        raise InvalidCard("the card number is not valid (wrong length or check digit): ask the customer to re-enter it")
    if not 1 <= exp_month <= 12:
        raise InvalidCard("card_exp_month must be between 1 and 12")
    if (exp_year, exp_month) < (year_now, month_now):
        raise InvalidCard("the card's expiry date has passed: ask the customer for a current card")
    return digits


def fingerprint(digits: str, key: bytes) -> str:
    """A keyed HMAC: the same card always gives the same fingerprint, and it cannot be reversed without the key."""
    return hmac.new(key, digits.encode(), hashlib.sha256).hexdigest()[:32]
