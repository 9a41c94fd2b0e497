"""The OFAC SDN CSV format: what is read from each file, and every malformed line named by file and line."""

from datetime import date

import pytest

from mcp_payments.adapters.sanctions_files import builtin
from mcp_payments.domain import sanctions
from mcp_payments.domain.errors import InvalidSanctionsList
from mcp_payments.domain.sanctions import Dob
from tests.sanctions.files import E, files, sdn_line


def test_the_shipped_synthetic_list_parses_with_aliases_countries_and_dates_of_birth() -> None:
    parsed = sanctions.parse(builtin())
    by_num = {e.ent_num: e for e in parsed.entries}
    assert len(parsed.entries) == 10
    assert parsed.rows == 10 + 7 + 6
    zorvak = by_num[9001]
    assert zorvak.name == "ZORVAK, Ignatius Pelleas"
    assert zorvak.is_person
    assert zorvak.program == "FICTION-A"
    assert zorvak.aliases == ("ZORVAK, Iggy", "PELLEAS ZORVAK, Ignacio")
    assert zorvak.countries == ("Iceland",)
    assert zorvak.dobs == (Dob(1960, 1960, 1, 12),)
    assert by_num[9003].sdn_type == ""
    assert not by_num[9003].is_person
    assert by_num[9006].name == 'NIGHTJAR "GREY" HOLDINGS'  # doubled quotes inside a quoted field
    assert by_num[9003].name == "BLACKSPIRE IMAGINARY TRADING, LTD."  # a comma inside a quoted field
    assert by_num[9010].dobs == ()
    assert by_num[9010].countries == ()


def test_the_same_files_hash_the_same_and_any_byte_changes_the_hash() -> None:
    shipped = builtin()
    assert sanctions.parse(shipped).sha256 == sanctions.parse(dict(shipped)).sha256
    changed = {**shipped, "alt.csv": shipped["alt.csv"].replace(b"Iggy", b"Iggi")}
    assert sanctions.parse(changed).sha256 != sanctions.parse(shipped).sha256


@pytest.mark.parametrize(
    ("remarks", "expected"),
    [
        ("DOB 12 Jan 1960; POB Nowhere.", (Dob(1960, 1960, 1, 12),)),
        ("DOB Jan 1960.", (Dob(1960, 1960, 1, None),)),
        ("DOB 1960; DOB 1962.", (Dob(1960, 1960), Dob(1962, 1962))),
        ("DOB circa 1958.", (Dob(1958, 1958),)),
        ("DOB 1958 to 1962.", (Dob(1958, 1962),)),
        ("DOB 01 Foo 1960.", ()),
        ("Nationality Nowhere.", ()),
    ],
)
def test_dates_of_birth_are_read_from_the_remarks(remarks: str, expected: tuple[Dob, ...]) -> None:
    assert sanctions.parse_dobs(remarks) == expected


def test_a_listed_date_matches_at_the_precision_it_is_given() -> None:
    assert Dob(1960, 1960, 1, 12).matches(date(1960, 1, 12))
    assert not Dob(1960, 1960, 1, 12).matches(date(1960, 1, 13))
    assert Dob(1958, 1962).matches(date(1961, 6, 1))
    assert Dob(1960, 1960).near(date(1961, 12, 31))
    assert not Dob(1960, 1960).near(date(1962, 1, 1))


def test_windows_1252_files_are_read() -> None:
    parsed = sanctions.parse({"sdn.csv": sdn_line(1, "MÜLLER, Jörg").encode("cp1252")})
    assert parsed.entries[0].name == "MÜLLER, Jörg"


GOOD = sdn_line(1, "ALPHA, Test")

MALFORMED = {
    "too-few-fields": (files([GOOD, '2,"BETA, Test",individual']), "sdn.csv line 2: 3 fields"),
    "ent-num-not-a-number": (files([GOOD, sdn_line(1, "X").replace("1,", "x1,", 1)]), "sdn.csv line 2: ent_num"),
    "name-empty": (files([sdn_line(1, E)]), "sdn.csv line 1: the name is empty"),
    "unclosed-quote": (files([GOOD, '2,"BETA, Test,individual']), "sdn.csv line 2"),
    "duplicate-entry": (files([GOOD, GOOD]), "sdn.csv line 2: entry 1 appears twice"),
    "name-too-long": (files([sdn_line(1, "X" * 351)]), "sdn.csv line 1: a name longer than 350"),
    "nul-in-a-field": (files([GOOD, sdn_line(2, "BE\x00TA")]), "sdn.csv line 2: holds a NUL"),
    "alt-wrong-width": (files([GOOD], alt=["1,101,aka"]), "alt.csv line 1: 3 fields"),
    "alt-for-an-unknown-entry": (files([GOOD], alt=[f'7,101,"aka","GAMMA",{E}']), "alt.csv names entry 7"),
    "add-bad-ent-num": (files([GOOD], add=[f"-1,201,{E},{E},{E},{E}"]), "add.csv line 1: ent_num"),
    "not-text": ({"sdn.csv": b"\x81\x8d\x8f\x90\x9d"}, "sdn.csv line 1: not UTF-8"),
    "sdn-missing": ({"alt.csv": b""}, "sdn.csv is missing"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_file_is_refused_naming_the_file_and_line(case: str) -> None:
    given, message = MALFORMED[case]
    with pytest.raises(InvalidSanctionsList) as refused:
        sanctions.parse(given)
    assert message in refused.value.message
    assert refused.value.code == "invalid_sanctions_list"
