"""Sanctions lists in the OFAC SDN CSV format, and the screening rule that turns name scores into a decision.

The files (https://ofac.treasury.gov/specially-designated-nationals-list-data-formats-data-schemas) have no
header row, quote fields that hold commas, and write `-0-` for an empty field:

- sdn.csv: ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign, Vess_type, Tonnage, GRT, Vess_flag,
  Vess_owner, Remarks (a date of birth is in Remarks as "DOB 12 Jan 1960", "DOB 1960" or "DOB circa 1958")
- alt.csv: ent_num, alt_num, alt_type, alt_name, alt_remarks
- add.csv: ent_num, add_num, address, city/state/postal, country, add_remarks

The last line of a file may be a single control-Z (0x1A): OFAC's files end that way.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from mcp_payments.domain import countries
from mcp_payments.domain.errors import InvalidInput, InvalidSanctionsList
from mcp_payments.domain.name_matching import normalise

FILES = ("sdn.csv", "alt.csv", "add.csv")
COLUMNS = {"sdn.csv": 12, "alt.csv": 5, "add.csv": 6}
EMPTY = "-0-"
MAX_FILE_BYTES = 64 * 1024 * 1024  # the real sdn.csv is ~4 MB; a bigger file is not a list
MAX_NAME = 350  # characters of a name, on the list or screened

_MONTHS = {
    m: i
    for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)
}
# "DOB 12 Jan 1960", "DOB Jan 1960", "DOB 1960", "DOB circa 1960", "DOB 1958 to 1962"
_DOB = re.compile(
    r"\bDOB\s+(?:circa\s+)?(?:(\d{1,2})\s+)?(?:([A-Za-z]{3})[a-z]*\s+)?(\d{4})(?:\s+to\s+(?:\d{1,2}\s+)?"
    r"(?:[A-Za-z]{3}[a-z]*\s+)?(\d{4}))?"
)


class PartyType(StrEnum):
    PERSON = "person"
    ENTITY = "entity"


class Decision(StrEnum):
    CLEAR = "clear"
    REVIEW = "review"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class Dob:
    """A date of birth as the list gives it: a full date, a month of a year, a year, or a range of years."""

    year_from: int
    year_to: int
    month: int | None = None
    day: int | None = None

    def matches(self, born: date) -> bool:
        """Consistent with `born` at the precision the list gives."""
        if not self.year_from <= born.year <= self.year_to:
            return False
        if self.month is not None and self.month != born.month:
            return False
        return self.day is None or self.day == born.day

    def near(self, born: date) -> bool:
        """Within a year of the listed years (the list's 'circa' and data-entry slips)."""
        return self.year_from - 1 <= born.year <= self.year_to + 1

    def text(self) -> str:
        if self.year_from != self.year_to:
            return f"{self.year_from}..{self.year_to}"
        if self.day is not None and self.month is not None:
            return f"{self.year_from:04d}-{self.month:02d}-{self.day:02d}"
        return f"{self.year_from:04d}-{self.month:02d}" if self.month is not None else f"{self.year_from:04d}"


@dataclass(frozen=True, slots=True)
class Entry:
    """One list entry (an SDN): its published name, its aliases, addresses' countries and dates of birth."""

    ent_num: int
    name: str
    sdn_type: str  # "individual", "vessel", "aircraft", or "" for an entity
    program: str
    aliases: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    dobs: tuple[Dob, ...] = ()

    @property
    def is_person(self) -> bool:
        return self.sdn_type == "individual"


@dataclass(frozen=True, slots=True)
class ParsedList:
    entries: tuple[Entry, ...]
    sha256: str  # of the three files' bytes, in FILES order, each prefixed with its length
    rows: int  # lines read across the three files


def content_hash(files: Mapping[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in FILES:
        data = files.get(name, b"")
        digest.update(f"{name}:{len(data)}:".encode())
        digest.update(data)
    return digest.hexdigest()


def parse(files: Mapping[str, bytes]) -> ParsedList:
    """The entries of an SDN list from its three files' bytes (alt.csv and add.csv may be absent: b"").

    Any malformed line is a InvalidSanctionsList naming the file and the line: a list is loaded whole or not at all."""
    if "sdn.csv" not in files:
        raise InvalidSanctionsList("sdn.csv is missing: a list needs sdn.csv (alt.csv and add.csv are optional)")
    rows = {name: _rows(name, files.get(name, b"")) for name in FILES}
    aliases: dict[int, list[str]] = {}
    countries: dict[int, list[str]] = {}
    sdn_nums: set[int] = set()
    for line, row in rows["alt.csv"]:
        ent = _ent_num("alt.csv", line, row[0])
        aliases.setdefault(ent, []).append(_name("alt.csv", line, row[3]))
    for line, row in rows["add.csv"]:
        ent = _ent_num("add.csv", line, row[0])
        if (country := _value(row[4])) is not None:
            countries.setdefault(ent, []).append(country)
    entries: list[Entry] = []
    for line, row in rows["sdn.csv"]:
        ent = _ent_num("sdn.csv", line, row[0])
        if ent in sdn_nums:
            raise InvalidSanctionsList(f"sdn.csv line {line}: entry {ent} appears twice", file="sdn.csv", line=line)
        sdn_nums.add(ent)
        remarks = _value(row[11]) or ""
        entries.append(
            Entry(
                ent,
                _name("sdn.csv", line, row[1]),
                _text("sdn.csv", line, row[2], 40, "SDN_Type").casefold(),
                _text("sdn.csv", line, row[3], 400, "Program"),
                tuple(dict.fromkeys(aliases.get(ent, ()))),
                tuple(dict.fromkeys(countries.get(ent, ()))),
                parse_dobs(remarks),
            )
        )
    for name, found in (("alt.csv", aliases), ("add.csv", countries)):
        orphan = sorted(set(found) - sdn_nums)
        if orphan:
            raise InvalidSanctionsList(
                f"{name} names entry {orphan[0]}, which sdn.csv does not have: load the three files of one "
                "publication together",
                file=name,
                ent_num=orphan[0],
            )
    total = sum(len(r) for r in rows.values())
    return ParsedList(tuple(entries), content_hash(files), total)


def parse_dobs(remarks: str) -> tuple[Dob, ...]:
    found: list[Dob] = []
    for day, month, year, year_to in _DOB.findall(remarks):
        month_no = _MONTHS.get(month[:3].casefold()) if month else None
        if month and month_no is None:
            continue
        dob = Dob(int(year), int(year_to or year), month_no, int(day) if day and month_no else None)
        if dob.year_to >= dob.year_from:
            found.append(dob)
    return tuple(found)


def _rows(name: str, data: bytes) -> list[tuple[int, list[str]]]:
    if len(data) > MAX_FILE_BYTES:
        raise InvalidSanctionsList(f"{name} is larger than {MAX_FILE_BYTES // 2**20} MB: it is not an SDN list file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")  # OFAC's older files
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            raise InvalidSanctionsList(
                f"{name} line {line}: not UTF-8 or Windows-1252 text", file=name, line=line
            ) from None
    width = COLUMNS[name]
    out: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        line = reader.line_num + 1  # where the record starts (a quoted field may span lines)
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise InvalidSanctionsList(
                f"{name} line {line}: not CSV ({error}; is a quote left open?)", file=name, line=line
            ) from None
        if not row or row == ["\x1a"] or all(not cell.strip() for cell in row):
            continue
        if len(row) != width:
            raise InvalidSanctionsList(
                f"{name} line {line}: {len(row)} fields, the SDN format has {width} (is it the right file?)",
                file=name,
                line=line,
            )
        if any("\x00" in cell for cell in row):
            raise InvalidSanctionsList(f"{name} line {line}: holds a NUL character", file=name, line=line)
        out.append((line, [cell.strip() for cell in row]))
    return out


def _value(cell: str) -> str | None:
    return None if cell in ("", EMPTY) else cell


def _text(file: str, line: int, cell: str, limit: int, column: str) -> str:
    value = _value(cell) or ""
    if len(value) > limit:
        raise InvalidSanctionsList(
            f"{file} line {line}: {column} is longer than {limit} characters", file=file, line=line
        )
    return value


def _ent_num(file: str, line: int, cell: str) -> int:
    if not cell.isascii() or not cell.isdigit() or len(cell) > 9:
        raise InvalidSanctionsList(f"{file} line {line}: ent_num {cell[:20]!r} is not a number", file=file, line=line)
    return int(cell)


def _name(file: str, line: int, cell: str) -> str:
    name = _value(cell)
    if name is None:
        raise InvalidSanctionsList(f"{file} line {line}: the name is empty", file=file, line=line)
    if len(name) > MAX_NAME:
        raise InvalidSanctionsList(
            f"{file} line {line}: a name longer than {MAX_NAME} characters", file=file, line=line
        )
    return name


# -- the screening rule ----------------------------------------------------------------------------------------

TYPE_MISMATCH = 0.10  # a person screened against an entity (or vessel, aircraft), or the other way round
COUNTRY_MISMATCH = 0.05  # the party's country is none of the entry's address countries
DOB_MISMATCH = 0.15  # the party's date of birth is more than a year from every listed one


@dataclass(frozen=True, slots=True)
class Party:
    name: str
    type: PartyType
    country: str | None = None  # ISO 3166-1 alpha-2
    country_names: tuple[str, ...] = ()  # that country's names, normalised, as lists spell countries
    born: date | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    """A name on the list close to the party's, with how the party's details moved its score."""

    entry: Entry
    matched: str  # the entry's name or alias that scored best, as published
    is_alias: bool
    name_score: float  # Jaro-Winkler of the normalised names, 0..1
    score: float  # after the adjustments, 0..1
    dob_match: bool | None  # None: nothing to compare
    country_match: bool | None
    notes: tuple[str, ...] = field(default=())

    @property
    def corroborated(self) -> bool:
        return bool(self.dob_match) or bool(self.country_match)


def refine(entry: Entry, matched: str, is_alias: bool, name_score: float, party: Party) -> Hit:
    """The name score lowered by what contradicts it: a type mismatch (-0.10), a country that is none of the
    entry's (-0.05), a date of birth more than a year from every listed one (-0.15). Agreement never raises the
    score: it corroborates (and a corroborated hit above the block threshold blocks)."""
    score, notes = name_score, []
    if (party.type is PartyType.PERSON) != entry.is_person:
        score -= TYPE_MISMATCH
        notes.append(f"type mismatch: the entry is {'an individual' if entry.is_person else 'not an individual'}")
    country_match: bool | None = None
    if party.country is not None and entry.countries:
        listed = {normalise(c) for c in entry.countries}
        country_match = bool(listed & set(party.country_names))
        if not country_match:
            score -= COUNTRY_MISMATCH
            notes.append(f"country mismatch: the entry's countries are {', '.join(entry.countries)}")
    dob_match: bool | None = None
    if party.born is not None and entry.dobs:
        dob_match = any(d.matches(party.born) for d in entry.dobs)
        if not any(d.near(party.born) for d in entry.dobs):
            score -= DOB_MISMATCH
            notes.append(f"date of birth mismatch: the entry's are {', '.join(d.text() for d in entry.dobs)}")
    return Hit(entry, matched, is_alias, name_score, max(score, 0.0), dob_match, country_match, tuple(notes))


def decide(hits: list[Hit], review_at: float, block_at: float) -> Decision:
    """block: a hit scoring at least block_at that the date of birth or the country corroborates; review: a hit
    scoring at least review_at; clear otherwise. A name alone never blocks: common names are shared by people
    not on the list, so a person decides."""
    if any(h.score >= block_at and h.corroborated for h in hits):
        return Decision.BLOCK
    if any(h.score >= review_at for h in hits):
        return Decision.REVIEW
    return Decision.CLEAR


def party(name: str, type_: PartyType, country: str | None, born: date | None, today: date) -> Party:
    """A party to screen, or InvalidInput saying what to fix: a name with letters or digits, a country given as
    an assigned ISO 3166-1 alpha-2 code, a date of birth between 1900 and today."""
    if len(name) > MAX_NAME:
        raise InvalidInput(f"name is longer than {MAX_NAME} characters: give the party's full name", field="name")
    if not normalise(name):
        raise InvalidInput("name has no letters or digits: give the party's full name", field="name")
    if born is not None and not date(1900, 1, 1) <= born <= today:
        raise InvalidInput(
            f"date_of_birth {born.isoformat()} is not between 1900-01-01 and today: give it as YYYY-MM-DD",
            field="date_of_birth",
        )
    code = countries.check_code(country) if country is not None else None
    return Party(name, type_, code, countries.names_of(code) if code else (), born)
