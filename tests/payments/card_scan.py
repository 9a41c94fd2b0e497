"""Finding card numbers where none may be: Luhn-valid runs of 13-19 digits in text and in the database.

A number may be spelt with digits of any script (full-width, Arabic-Indic) and with one to three
separators between its digit groups: spaces of any kind (tab, newline, no-break), dashes, dots,
underscores, slashes, commas, Unicode dashes and their full-width forms ("4242.4242.4242.4242",
"4242 - 4242 - 4242 - 4242"). A card number is a stretch of whole groups, or any 13-19 digits inside
one group (a card glued to other digits, as in "00004242424242424242"). Three things are not:
- digits glued to letters, which are part of an identifier or a hash (hex, ULID), so a group touching
  a letter at either end of a run is left out;
- a number starting with 0, which a card number never does (ISO/IEC 7812 gives issuers the first
  digits 1-9), so that no 13 of the 64 zeros of the audit chain's genesis hash count as one;
- groups four or more separators apart, which belong to two numbers.
Outputs are JSON and logs are repr()s, which write a tab as \\t and a full-width digit as \\uff14:
the text is scanned with such escapes undone as well. The Luhn check and the separators are written
here again on purpose: the scanner must not trust the code it checks.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable

from sqlalchemy import inspect, quoted_name, select, table, text
from sqlalchemy.ext.asyncio import AsyncEngine

# Between groups: any space, - . _ / , the Unicode dashes U+2010-U+2015 and minus sign U+2212, and the
# full-width comma, hyphen-minus, full stop, solidus and low line. \d is a decimal digit of any script.
_SEPARATOR = r"[\s\-._/,\u2010-\u2015\u2212\uff0c\uff0d\uff0e\uff0f\uff3f]"
_RUN = re.compile(rf"\d+(?:{_SEPARATOR}{{1,3}}\d+)*")
_GROUP = re.compile(r"\d+")
# \t, \xa0, \u3000 as JSON or repr() write them, behind one backslash per level of quoting.
_ESCAPE = re.compile(r"\\+(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|([tnr]))")
_CONTROL = {"t": "\t", "n": "\n", "r": "\r"}


def luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def card_numbers(text_: str) -> list[str]:
    """Every Luhn-valid 13-19 digit number in the text, as ASCII digits (one inside another is not repeated)."""
    found = _card_numbers(text_)
    if "\\" in text_:
        found += [number for number in _card_numbers(_unescaped(text_)) if number not in found]
    return found


def _card_numbers(text_: str) -> list[str]:
    found = []
    for match in _RUN.finditer(text_):
        groups = ["".join(str(unicodedata.decimal(d)) for d in group) for group in _GROUP.findall(match.group())]
        start, end = match.start(), match.end()
        if start > 0 and text_[start - 1].isalnum():
            groups = groups[1:]
        if end < len(text_) and text_[end].isalnum():
            groups = groups[:-1]
        digits, spans = "".join(groups), _card_spans(groups)
        found += [digits[a:b] for a, b in sorted(spans) if not any(c <= a and b <= d for c, d in spans - {(a, b)})]
    return found


def _card_spans(groups: list[str]) -> set[tuple[int, int]]:
    """(first, last + 1) in the groups' digits of each card number: whole groups, or inside one group."""
    digits = "".join(groups)
    bounds = list(itertools.accumulate(map(len, groups), initial=0))
    whole = {(a, b) for a in bounds for b in bounds}
    inside = {
        (a, b) for start, end in itertools.pairwise(bounds) for a in range(start, end) for b in range(a + 13, end + 1)
    }
    return {(a, b) for a, b in whole | inside if 13 <= b - a <= 19 and digits[a] != "0" and luhn(digits[a:b])}


def _unescaped(text_: str) -> str:
    def char(escape: re.Match[str]) -> str:
        code, control = escape[1] or escape[2], escape[3]
        return chr(int(code, 16)) if code else _CONTROL[control]

    # JSON writes a character beyond U+FFFF (a mathematical digit) as two surrogates: join them.
    return _ESCAPE.sub(char, text_).encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def card_numbers_in(texts: Iterable[str]) -> list[str]:
    return [number for t in texts for number in card_numbers(t)]


async def dump_database(engine: AsyncEngine, *, settled: bool = False) -> list[str]:
    """One line per row of every table (not only the ones this code knows), every column as text.

    settled=True leaves out what a running server's sealer changes by itself (the chain's head, the seal columns
    of audit records, its runs), so that two dumps compare what calls and events wrote."""
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        lines = []
        for name in sorted(names):
            if settled and name in _SEALER_TABLES:
                continue
            rows = await conn.execute(select(text("*")).select_from(table(quoted_name(name, quote=True))))
            keep = [i for i, column in enumerate(rows.keys()) if not (settled and (name, column) in _SEALER_COLUMNS)]
            lines += [f"{name}: " + " | ".join(str(row[i]) for i in keep) for row in rows]
    return sorted(lines) if settled else lines


_SEALER_TABLES = frozenset({"audit_head", "job_runs"})
_SEALER_COLUMNS = frozenset({("audit_log", "seq"), ("audit_log", "prev_hash"), ("audit_log", "hash")})
