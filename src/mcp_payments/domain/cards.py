"""Card data that may be kept: brand, last four digits, expiry and a keyed fingerprint. Never the number."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from mcp_payments.domain.errors import InvalidCard


def luhn_valid(digits: str) -> bool:
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_DIGIT_RUN = re.compile(r"[0-9]+(?:[ -][0-9]+)*")
_SEPARATOR = re.compile(r"([ -])")
# What any card number needs: 13 digits, at most one separator between two. Most text (every id) has
# no such stretch, and one search says so at a fraction of the cost of trying each digit run.
_CANDIDATE = re.compile(r"[0-9](?:[ -]?[0-9]){12}")


def mask_card_numbers(text: str) -> str:
    """Replace every Luhn-valid 13-19 digit number (spaces or dashes allowed) by ****last4.

    A card number may follow or precede other numbers in the same run ("qty 2 4242 4242 4242 4242"),
    so every stretch of whole digit groups is tried, not only the run as a whole. Masking repeats
    until nothing changes, so no card number is left straddling what was just masked.
    """
    if _CANDIDATE.search(text) is None:
        return text
    while (masked := _DIGIT_RUN.sub(lambda match: _mask_run(match.group()), text)) != text:
        text = masked
    return text


def _mask_run(run: str) -> str:
    parts = _SEPARATOR.split(run)
    groups, separators = parts[0::2], parts[1::2]
    out: list[str] = []
    start = 0
    while start < len(groups):
        end, digits = start + 1, groups[start]
        for stop in range(start + 1, len(groups) + 1):  # the longest card number that starts here
            candidate = "".join(groups[start:stop])
            if len(candidate) > 19:
                break
            if len(candidate) >= 13 and luhn_valid(candidate):
                end, digits = stop, "****" + candidate[-4:]
        out.append(digits)
        if end < len(groups):
            out.append(separators[end - 1])
        start = end
    return "".join(out)


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
