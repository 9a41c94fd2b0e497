"""Sanctions screening: loading list versions, and screening a party against the newest one.

Other code screens through `Screening.screen(uow, party, by)`, inside its own unit of work: the screening is
recorded in that transaction, with the list version it used, and the result says clear, review or block
(domain/sanctions.py states the rule).

The list is matched in memory: each process builds the index of a version the first time it screens against
it (one query finds the newest version per screening, so a load reaches every process at its next screening).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mcp_payments.domain import sanctions
from mcp_payments.domain.name_matching import Candidate, NameIndex, short_forms
from mcp_payments.domain.sanctions import Decision, Entry, Hit, ParsedList, Party
from mcp_payments.services.calls import CallRunner
from mcp_payments.services.commands import Command, Done
from mcp_payments.services.ports import Clock, Ids, UnitOfWork
from mcp_payments.services.sanctions_ports import SANCTIONS, ListVersion, ScreeningRecord

MAX_MATCHES = 10  # the best hits a screening reports and keeps
_CACHED = 2  # list versions whose index a process keeps (the newest, and the one before while a load lands)


@dataclass(frozen=True, slots=True)
class Thresholds:
    review: float = 0.88
    block: float = 0.97


@dataclass(frozen=True, slots=True)
class Matcher:
    version: ListVersion
    entries: tuple[Entry, ...]
    index: NameIndex

    @classmethod
    def of(cls, version: ListVersion, entries: tuple[Entry, ...]) -> Matcher:
        names: list[Candidate] = []
        for i, e in enumerate(entries):
            for name, alias in ((e.name, False), *((a, True) for a in e.aliases)):
                names.append(Candidate(i, name, alias))
                if e.is_person:
                    names += (Candidate(i, name, alias, short) for short in short_forms(name))
        return cls(version, entries, NameIndex(names))

    def hits(self, party: Party, thresholds: Thresholds) -> list[Hit]:
        found = self.index.search(party.name, thresholds.review)
        hits = [sanctions.refine(self.entries[f.owner], f.name, f.is_alias, f.score, party) for f in found]
        return sorted(hits, key=lambda h: (-h.score, -h.name_score, h.entry.ent_num))[:MAX_MATCHES]


@dataclass(frozen=True, slots=True)
class ScreeningResult:
    id: str
    version: ListVersion
    party: Party
    decision: Decision
    hits: list[Hit]
    screened_at: datetime


@dataclass(frozen=True, slots=True)
class Loaded:
    version: ListVersion
    created: bool  # False: this content was loaded before; nothing changed


def match_out(h: Hit) -> dict[str, Any]:
    """A hit as screen_party returns it and the screening record keeps it."""
    return {
        "entry_id": h.entry.ent_num,
        "name": h.entry.name,
        "matched_name": h.matched,
        "matched_alias": h.is_alias,
        "entry_type": h.entry.sdn_type or "entity",
        "program": h.entry.program,
        "name_score": round(h.name_score, 4),
        "score": round(h.score, 4),
        "date_of_birth_match": h.dob_match,
        "country_match": h.country_match,
        "notes": list(h.notes),
    }


class Screening:
    def __init__(
        self,
        clock: Clock,
        ids: Ids,
        calls: CallRunner,
        thresholds: Thresholds,
        builtin: Callable[[], Mapping[str, bytes]],
    ) -> None:
        self.clock = clock
        self.ids = ids
        self.calls = calls
        self.thresholds = thresholds
        self._builtin_files = builtin
        self._builtin: Matcher | None = None
        self._matchers: dict[str, Matcher] = {}

    async def screen(self, uow: UnitOfWork, party: Party, by: str) -> ScreeningResult:
        """Screen `party` against the newest list and record the decision in `uow`'s transaction."""
        result = await self.assess(uow, party)
        await self.record(uow, result, by)
        return result

    async def assess(self, uow: UnitOfWork, party: Party) -> ScreeningResult:
        """Screen `party` against the newest list without recording it (record() does: a refused call records its
        screening after it rolled back)."""
        matcher = await self.matcher(uow)
        hits = matcher.hits(party, self.thresholds)
        decision = sanctions.decide(hits, self.thresholds.review, self.thresholds.block)
        return ScreeningResult(self.ids.new("scr"), matcher.version, party, decision, hits, self.clock.now())

    @staticmethod
    async def record(uow: UnitOfWork, result: ScreeningResult, by: str) -> None:
        record = ScreeningRecord(
            result.id,
            result.version,
            result.party,
            result.decision,
            [match_out(h) for h in result.hits],
            result.screened_at,
            by,
        )
        await uow.repo(SANCTIONS).add_screening(record)

    async def matcher(self, uow: UnitOfWork) -> Matcher:
        """The newest list's matcher (the shipped synthetic list until one is loaded), built once per process."""
        repo = uow.repo(SANCTIONS)
        version = await repo.current_list()
        if version is None:
            return self.builtin()
        cached = self._matchers.get(version.sha256)
        if cached is None:
            assert version.id is not None
            cached = Matcher.of(version, tuple(await repo.entries(version.id)))
            while len(self._matchers) >= _CACHED:
                self._matchers.pop(next(iter(self._matchers)))
            self._matchers[version.sha256] = cached
        return cached

    def builtin(self) -> Matcher:
        if self._builtin is None:
            parsed = sanctions.parse(self._builtin_files())
            version = ListVersion(None, parsed.sha256, parsed.rows, len(parsed.entries), None, None)
            self._builtin = Matcher.of(version, parsed.entries)
        return self._builtin

    async def versions(self, uow: UnitOfWork, limit: int) -> list[ListVersion]:
        return await uow.repo(SANCTIONS).lists(limit)

    async def load(self, by: str, files: Mapping[str, bytes]) -> Loaded:
        """Load a list version from its files, whole or not at all, audited under `by`. The same content loaded
        again changes nothing and returns the version it was loaded as."""
        return await self.load_parsed(by, sanctions.parse(files))  # a malformed file never opens a transaction

    async def load_parsed(self, by: str, parsed: ParsedList) -> Loaded:
        now = self.clock.now()

        async def load(uow: UnitOfWork) -> Done:
            repo = uow.repo(SANCTIONS)
            existing = await repo.find_list(parsed.sha256)
            if existing is not None:
                return Done(_described(existing, created=False), (str(existing.id),), Loaded(existing, False))
            version = ListVersion(self.ids.new("sls"), parsed.sha256, parsed.rows, len(parsed.entries), now, by)
            await repo.add_list(version, parsed.entries)
            return Done(_described(version, created=True), (str(version.id),), Loaded(version, True))

        arguments = {"sha256": parsed.sha256, "row_count": parsed.rows, "entry_count": len(parsed.entries)}
        # Keyed by the content: two loads of the same files at once run once, the second gets the first's answer.
        command = Command("load_sanctions_list", by, arguments, f"sanctions-list:{parsed.sha256}")
        outcome = await self.calls.mutate(command, load)
        if isinstance(outcome.value, Loaded):
            return outcome.value
        r = outcome.response
        loaded_at = datetime.fromisoformat(r["loaded_at"])
        version = ListVersion(r["id"], r["sha256"], r["row_count"], r["entry_count"], loaded_at, r["loaded_by"])
        return Loaded(version, False)


def _described(v: ListVersion, *, created: bool) -> dict[str, Any]:
    return {
        "id": v.id,
        "sha256": v.sha256,
        "row_count": v.row_count,
        "entry_count": v.entry_count,
        "loaded_at": v.loaded_at.isoformat() if v.loaded_at else None,
        "loaded_by": v.loaded_by,
        "created": created,
    }
