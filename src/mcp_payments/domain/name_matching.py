"""Fuzzy name matching: normalised names, their Jaro-Winkler score, and an index that finds the close names of a
list without scoring every one.

A name is compared twice, as written and with its words sorted ("KIM, Jong Un" and "Jong Un Kim" are the same
words), and scores the better of the two. The index blocks on the ends of words: a name is a candidate when one of
its words begins or ends with the same four letters as one of the query's. Only the candidates are scored. A name
none of whose words shares an end with the query's is never scored, even if its Jaro-Winkler score would pass
("jon smth" and "john smith" share neither end of either word): the recall test
(tests/sanctions/test_matching.py) and benchmarks/sanctions.py hold the index to the brute-force scan of every
name on realistic queries (typos, reordered words, accents, dropped middle names).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Letters that Unicode does not decompose into a base letter and an accent.
_FOLD = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"})
_APOSTROPHES = re.compile(r"['’‘`´ʼ]")
_NOT_WORD = re.compile(r"[\W_]+")
_AFFIX = 4  # letters at each end of a word that key it


def normalise(text: str) -> str:
    """Casefolded, accents and punctuation removed, spaces collapsed: 'Ḿüller-Lüdenscheidt, José' ->
    'muller ludenscheidt jose'. Apostrophes join (O'Brien -> obrien); other punctuation separates words."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_FOLD))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_FOLD)
    return " ".join(_NOT_WORD.sub(" ", _APOSTROPHES.sub("", bare)).split())


def sort_words(normalised: str) -> str:
    return " ".join(sorted(normalised.split()))


def score(a: str, b: str) -> float:
    """Jaro-Winkler similarity (0..1) of two normalised names, as written and with their words sorted."""
    from rapidfuzz.distance import JaroWinkler  # imported when first used: a server start does not need it

    return max(JaroWinkler.normalized_similarity(a, b), JaroWinkler.normalized_similarity(sort_words(a), sort_words(b)))


def short_forms(name: str) -> list[str]:
    """A listed person's name without middle names, as people are often named: 'ZORVAK, Ignatius Pelleas' ->
    'ZORVAK, Ignatius'. Only for names written 'SURNAME, Given Names' with two or more given names."""
    surname, comma, given = name.partition(",")
    words = given.split()
    return [f"{surname}, {words[0]}"] if comma and len(words) >= 2 else []


def keys(normalised: str) -> set[str]:
    """The blocking keys of a name: each word's first four and last four letters (a word of three letters or fewer
    is its own key). Two words a typo or a transliteration apart nearly always keep one end."""
    found: set[str] = set()
    for word in normalised.split():
        if len(word) < _AFFIX:
            found.add("=" + word)
        else:
            found.update(("<" + word[:_AFFIX], ">" + word[-_AFFIX:]))
    return found


@dataclass(frozen=True, slots=True)
class Candidate:
    owner: int  # which entry: the caller's index
    name: str  # as published
    is_alias: bool
    form: str | None = None  # the text to match, when not `name` itself (the name without middle names)


@dataclass(frozen=True, slots=True)
class Found:
    owner: int
    name: str
    is_alias: bool
    score: float


class NameIndex:
    """Every name of a list (entries' names and aliases), normalised, with its blocking keys."""

    def __init__(self, names: Iterable[Candidate]) -> None:
        self.names: list[Candidate] = []
        self.full: list[str] = []
        self.sorted: list[str] = []
        self.blocks: dict[str, list[int]] = {}
        for candidate in names:
            full = normalise(candidate.form or candidate.name)
            if not full:
                continue
            i = len(self.names)
            self.names.append(candidate)
            self.full.append(full)
            self.sorted.append(sort_words(full))
            for key in keys(full):
                self.blocks.setdefault(key, []).append(i)

    def __len__(self) -> int:
        return len(self.names)

    def search(self, query: str, cutoff: float) -> list[Found]:
        """The best-scoring name of every entry scoring at least `cutoff`, found through the blocks."""
        full = normalise(query)
        if not full:
            return []
        candidates: set[int] = set()
        for key in keys(full):
            candidates.update(self.blocks.get(key, ()))
        return self._scored(full, sorted(candidates), cutoff)

    def scan(self, query: str, cutoff: float) -> list[Found]:
        """The same as search, by scoring every name of the list: the brute force the index is measured by."""
        full = normalise(query)
        if not full:
            return []
        return self._scored(full, range(len(self.names)), cutoff)

    def _scored(self, full: str, which: Sequence[int], cutoff: float) -> list[Found]:
        # Imported when first used: rapidfuzz takes a noticeable share of a server's start, which lists tools.
        from rapidfuzz import process
        from rapidfuzz.distance import JaroWinkler

        best: dict[int, tuple[float, int]] = {}
        everything = len(which) == len(self.names)
        for query, forms in ((full, self.full), (sort_words(full), self.sorted)):
            choices = forms if everything else [forms[i] for i in which]
            matches = process.extract(
                query, choices, scorer=JaroWinkler.normalized_similarity, score_cutoff=cutoff, limit=None
            )
            for _, value, at in matches:
                i = which[at]
                owner = self.names[i].owner
                if owner not in best or value > best[owner][0] or (value == best[owner][0] and i < best[owner][1]):
                    best[owner] = (value, i)
        found = [Found(owner, self.names[i].name, self.names[i].is_alias, value) for owner, (value, i) in best.items()]
        return sorted(found, key=lambda f: (-f.score, f.owner))
