"""A generated sanctions list the size of the real SDN (~18k entries, ~12k aliases), and queries against it:
for the recall test and benchmarks/sanctions.py. Deterministic for a seed; every name is made up from syllables."""

from __future__ import annotations

import random
import unicodedata

from mcp_payments.domain.sanctions import Dob, Entry

# Enough letters that words differ as much as the real list's (Arabic, Persian, Russian, Chinese, Spanish names
# in Latin letters): a few thousand distinct beginnings and endings of words.
_ONSETS = [*"bcdfghjklmnprstvwyz", "sh", "kh", "ch", "th", "zh", "ts", "br", "dr", "gr", "kr", "pr", "tr", "st", "sl"]
_VOWELS = ["a", "e", "i", "o", "u", "y", "ai", "ou", "ia", "ee", "oo", "ei", "ua"]
_CODAS = ["", "", "", "n", "r", "m", "d", "l", "s", "v", "z", "k", "t", "ng", "sh", "x", "nd", "st", "rk", "lt"]
_SUFFIXES = ["LLC", "LTD", "CO", "COMPANY", "GROUP", "TRADING", "INTERNATIONAL", "HOLDINGS", "SHIPPING", "BANK"]
_COUNTRIES = ["Russia", "Iran", "Syria", "Cuba", "Venezuela", "Burma", "Lebanon", "Iraq", "China", "Turkey"]
_PROGRAMS = ["SDGT", "IRAN", "RUSSIA-EO14024", "SYRIA", "CUBA", "NPWMD", "IFSR", "VENEZUELA"]


def _word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables))


def generate(entries: int = 18_000, seed: int = 13) -> list[Entry]:
    """Persons (60%), entities (35%) and vessels; common given names and shared surnames, as the real list has."""
    rng = random.Random(seed)
    given = [_word(rng, rng.choice((2, 2, 3))).capitalize() for _ in range(400)]
    given_weights = [1 / (rank + 1) ** 0.5 for rank in range(len(given))]  # the commonest is in ~5% of names
    surnames = [_word(rng, rng.choice((2, 3, 3, 4))).upper() for _ in range(9000)]
    words = [_word(rng, rng.choice((2, 3))).upper() for _ in range(2500)]
    out: list[Entry] = []
    for n in range(entries):
        kind = rng.random()
        aliases: list[str] = []
        if kind < 0.6:
            names = rng.choices(given, given_weights, k=rng.choice((1, 2, 2, 3)))
            surname = rng.choice(surnames)
            name = f"{surname}, {' '.join(names)}"
            for _ in range(rng.choice((0, 0, 1, 1, 2))):
                aliases.append(f"{_misspelt(rng, surname)}, {' '.join(_misspelt(rng, g) for g in names)}")
            year = rng.randint(1940, 2000)
            dobs = (Dob(year, year, rng.randint(1, 12), rng.randint(1, 28)),) if rng.random() < 0.7 else ()
            out.append(Entry(100_000 + n, name, "individual", rng.choice(_PROGRAMS), tuple(aliases), _cty(rng), dobs))
        else:
            stem = " ".join(rng.choices(words, k=rng.choice((1, 2, 2, 3))))
            name = f"{stem} {rng.choice(_SUFFIXES)}" if kind < 0.95 else stem
            for _ in range(rng.choice((0, 1, 1, 2))):
                aliases.append(f"{_misspelt(rng, stem)} {rng.choice(_SUFFIXES)}")
            sdn_type = "" if kind < 0.95 else "vessel"
            out.append(Entry(100_000 + n, name, sdn_type, rng.choice(_PROGRAMS), tuple(aliases), _cty(rng), ()))
    return out


def _cty(rng: random.Random) -> tuple[str, ...]:
    return tuple(rng.sample(_COUNTRIES, rng.choice((0, 1, 1, 2))))


def _misspelt(rng: random.Random, word: str) -> str:
    """One letter changed, dropped or doubled, as transliterations and typos do."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    match rng.randrange(3):
        case 0:
            return word[:i] + rng.choice("aeiouy") + word[i + 1 :]
        case 1:
            return word[:i] + word[i + 1 :]
        case _:
            return word[:i] + word[i] + word[i:]


def queries(entries: list[Entry], count: int, seed: int = 7) -> list[str]:
    """Names people would screen: listed names with a typo, their words reordered, accents added, a middle name
    dropped; and unrelated made-up names (most screenings are of people on no list)."""
    rng = random.Random(seed)
    out: list[str] = []
    for _ in range(count):
        entry = rng.choice(entries)
        name = rng.choice((entry.name, *entry.aliases))
        words = name.replace(",", "").split()
        match rng.randrange(5):
            case 0:
                out.append(" ".join(reversed(words)))
            case 1:
                w = rng.randrange(len(words))
                words[w] = _misspelt(rng, words[w])
                out.append(" ".join(words))
            case 2:
                out.append(unicodedata.normalize("NFC", name.replace("a", "á").replace("o", "ö")))
            case 3:
                out.append(" ".join(words[:1] + words[2:]) if len(words) > 2 else name.lower())
            case _:
                out.append(f"{_word(rng, 2).capitalize()} {_word(rng, 3).capitalize()}")
    return out
