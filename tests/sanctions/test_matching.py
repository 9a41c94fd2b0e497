"""Name matching and the screening rule, without a database: normalisation, Jaro-Winkler on full names and on
sorted words, aliases, typos, threshold edges, how a party's details move a score, the decision, and the index's
recall against the brute-force scan of every name."""

from datetime import date

import pytest

from mcp_payments.adapters.sanctions_files import builtin
from mcp_payments.domain import sanctions
from mcp_payments.domain.name_matching import normalise, score
from mcp_payments.domain.sanctions import Decision, Entry, Hit, PartyType
from mcp_payments.services.sanctions import Matcher, Thresholds
from mcp_payments.services.sanctions_ports import ListVersion
from tests.sanctions.generated import generate, queries

TODAY = date(2026, 1, 1)
SHIPPED = sanctions.parse(builtin())
MATCHER = Matcher.of(ListVersion(None, SHIPPED.sha256, SHIPPED.rows, 10, None, None), SHIPPED.entries)


def screen(name: str, type_: str = "person", country: str | None = None, born: str | None = None) -> list[Hit]:
    party = sanctions.party(name, PartyType(type_), country, date.fromisoformat(born) if born else None, TODAY)
    return MATCHER.hits(party, Thresholds())


def decision(name: str, type_: str = "person", country: str | None = None, born: str | None = None) -> Decision:
    return sanctions.decide(screen(name, type_, country, born), 0.88, 0.97)


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("MÜLLER-ZANTHÓS, Jürgen Éloi", "muller zanthos jurgen eloi"),
        ("  O'Driscollane,\tFennimore  ", "odriscollane fennimore"),
        ("Straße Øster Łukasz", "strasse oster lukasz"),
        ('NIGHTJAR "GREY" HOLDINGS', "nightjar grey holdings"),
        ("ＺＯＲＶＡＫ", "zorvak"),  # full-width letters
        ("!!! ---", ""),
    ],
)
def test_names_are_casefolded_stripped_of_accents_and_punctuation_with_spaces_collapsed(
    raw: str, normalised: str
) -> None:
    assert normalise(raw) == normalised


def test_word_order_does_not_matter() -> None:
    assert score(normalise("KIM, Jong Un"), normalise("Jong Un Kim")) == 1.0
    [hit] = screen("Ignatius Pelleas Zorvak")
    assert (hit.entry.ent_num, hit.name_score) == (9001, 1.0)


def test_accents_on_either_side_do_not_matter() -> None:
    [hit] = screen("Jurgen Eloi Muller Zanthos")
    assert (hit.entry.ent_num, hit.name_score) == (9004, 1.0)
    [hit] = screen("Tobíah Abarráne")
    assert (hit.entry.ent_num, hit.name_score) == (9007, 1.0)


def test_an_alias_matches_and_is_reported_as_the_name_matched() -> None:
    [hit] = screen("Ozzie Van Tremble")
    assert hit.entry.name == "VANTREMBLE, Osgood"
    assert (hit.matched, hit.is_alias, hit.entry.program) == ("TREMBLE, Ozzie Van", True, "FICTION-A")


def test_a_dropped_middle_name_still_matches_the_listed_person() -> None:
    [hit] = screen("Ignatius Zorvak")
    assert hit.name_score == 1.0
    assert hit.matched == "ZORVAK, Ignatius Pelleas"


def test_typos_score_below_one_and_still_match() -> None:
    [hit] = screen("Ignatius Pelleas Zorvac")
    assert 0.9 < hit.name_score < 1.0
    assert hit.entry.ent_num == 9001
    assert decision("Marguerite Quilfeather") is Decision.REVIEW


def test_an_unrelated_name_is_clear() -> None:
    assert screen("Jane Appleseed") == []
    assert decision("Jane Appleseed") is Decision.CLEAR


def test_the_review_threshold_is_inclusive() -> None:
    name = "Ignatius Pelleas Zorvac"
    exact = screen(name)[0].name_score
    party = sanctions.party(name, PartyType.PERSON, None, None, TODAY)
    at = MATCHER.hits(party, Thresholds(review=exact, block=1.0))
    above = MATCHER.hits(party, Thresholds(review=min(1.0, exact + 1e-9), block=1.0))
    assert sanctions.decide(at, exact, 1.0) is Decision.REVIEW
    assert above == [] or sanctions.decide(above, exact + 1e-9, 1.0) is Decision.CLEAR


def test_a_name_alone_never_blocks_a_confirming_date_of_birth_or_country_does() -> None:
    assert decision("Tobiah Abarrane") is Decision.REVIEW
    assert decision("Tobiah Abarrane", born="1982-03-03") is Decision.BLOCK
    assert decision("Tobiah Abarrane", country="IR") is Decision.BLOCK
    assert decision("Blackspire Imaginary Trading Ltd", "entity", country="RU") is Decision.BLOCK


def test_a_date_of_birth_more_than_a_year_away_lowers_the_score_by_0_15() -> None:
    [hit] = screen("Tobiah Abarrane", born="1990-05-05")
    assert hit.score == pytest.approx(1.0 - sanctions.DOB_MISMATCH)
    assert hit.dob_match is False
    assert "date of birth mismatch" in hit.notes[0]
    [near] = screen("Tobiah Abarrane", born="1984-05-05")  # a year from 1983: no penalty, no confirmation
    assert near.score == 1.0
    assert near.dob_match is False


def test_another_country_lowers_the_score_by_0_05_and_the_list_spelling_of_a_country_matches() -> None:
    [hit] = screen("Tobiah Abarrane", country="FR")
    assert hit.score == pytest.approx(1.0 - sanctions.COUNTRY_MISMATCH)
    assert hit.country_match is False
    [hit] = screen("Blackspire Imaginary Trading", "entity", country="ru")  # "Russia" on the list
    assert hit.country_match is True


def test_a_person_screened_against_an_entity_loses_0_10() -> None:
    [hit] = screen("Ocean Phantasm", "person")
    assert hit.entry.sdn_type == "vessel"
    assert hit.score == pytest.approx(1.0 - sanctions.TYPE_MISMATCH)
    [hit] = screen("Ocean Phantasm", "entity")
    assert hit.score == 1.0


def test_lowered_below_the_review_threshold_is_clear() -> None:
    assert decision("Tobiah Abarrane", "entity", country="FR", born="1990-01-01") is Decision.CLEAR


def test_what_a_hit_from_a_list_without_details_reports() -> None:
    entry = Entry(1, "ALPHA, Beta", "individual", "P")
    hit = sanctions.refine(entry, entry.name, False, 0.95, sanctions.party("x", PartyType.PERSON, "US", None, TODAY))
    assert (hit.country_match, hit.dob_match, hit.score) == (None, None, 0.95)


def test_the_index_finds_every_entry_the_brute_force_scan_finds() -> None:
    """On a generated list the size of the SDN and names people screen (typos, reordered words, accents, dropped
    middle names, unrelated names), the blocked search finds exactly what scoring every name finds."""
    entries = tuple(generate(18_000))
    matcher = Matcher.of(ListVersion(None, "x", 0, len(entries), None, None), entries)
    sample = queries(list(entries), 120, seed=21)
    missed = []
    for query in sample:
        brute = {(f.owner, round(f.score, 9)) for f in matcher.index.scan(query, 0.88)}
        found = {(f.owner, round(f.score, 9)) for f in matcher.index.search(query, 0.88)}
        if brute - found:
            missed.append((query, brute - found))
    assert missed == []
    assert sum(bool(matcher.index.scan(q, 0.88)) for q in sample[:20]) >= 10  # the sample does hit the list
