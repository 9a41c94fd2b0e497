"""The sanctions category's repository port, reached as `uow.repo(SANCTIONS)`, and what it stores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from mcp_payments.domain.sanctions import Decision, Entry, Party
from mcp_payments.services.ports import Repo


@dataclass(frozen=True, slots=True)
class ListVersion:
    """A loaded version of the list; id None for the synthetic list the package ships (used until one is loaded)."""

    id: str | None
    sha256: str
    row_count: int
    entry_count: int
    loaded_at: datetime | None
    loaded_by: str | None


@dataclass(frozen=True, slots=True)
class ScreeningRecord:
    id: str
    version: ListVersion
    party: Party
    decision: Decision
    matches: list[dict[str, Any]]  # as screen_party returns them
    screened_at: datetime
    screened_by: str


class SanctionsRepository(Protocol):
    async def find_list(self, sha256: str) -> ListVersion | None: ...
    async def add_list(self, version: ListVersion, entries: Sequence[Entry]) -> None:
        """The version and all its entries, in the caller's transaction."""
        ...

    async def current_list(self) -> ListVersion | None:
        """The newest loaded version; None when none was loaded."""
        ...

    async def lists(self, limit: int) -> list[ListVersion]:
        """Loaded versions, newest first."""
        ...

    async def entries(self, list_id: str) -> list[Entry]: ...
    async def add_screening(self, record: ScreeningRecord) -> None: ...


SANCTIONS: Repo[SanctionsRepository] = Repo("sanctions")
