"""Finding card numbers where none may be: Luhn-valid runs of 13-19 digits in text and in the database.

A run may have single spaces or dashes between its digits ("4242 4242 4242 4242"). Digits glued to
letters or other digits are part of an identifier or a hash (hex, ULID), not a card number, so a
group touching one at either end of a run is left out. The Luhn check is written here again on
purpose: the scanner must not trust the code it checks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import inspect, quoted_name, select, table, text
from sqlalchemy.ext.asyncio import AsyncEngine

_RUN = re.compile(r"\d+(?:[ -]\d+)*")
_SEPARATOR = re.compile(r"[ -]")


def luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def card_numbers(text_: str) -> list[str]:
    """Every Luhn-valid 13-19 digit number in the text, as bare digits."""
    found = []
    for match in _RUN.finditer(text_):
        groups = _SEPARATOR.split(match.group())
        start, end = match.start(), match.end()
        if start > 0 and text_[start - 1].isalnum():
            groups = groups[1:]
        if end < len(text_) and text_[end].isalnum():
            groups = groups[:-1]
        for first in range(len(groups)):
            digits = ""
            for group in groups[first:]:
                digits += group
                if len(digits) > 19:
                    break
                if len(digits) >= 13 and luhn(digits):
                    found.append(digits)
    return found


def card_numbers_in(texts: Iterable[str]) -> list[str]:
    return [number for t in texts for number in card_numbers(t)]


async def dump_database(engine: AsyncEngine) -> list[str]:
    """One line per row of every table (not only the ones this code knows), every column as text."""
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        lines = []
        for name in sorted(names):
            rows = await conn.execute(select(text("*")).select_from(table(quoted_name(name, quote=True))))
            lines += [f"{name}: " + " | ".join(str(value) for value in row) for row in rows]
    return lines
