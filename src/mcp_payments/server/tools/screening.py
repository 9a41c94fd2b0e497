"""screen_party: screen a person or an entity against the sanctions list, and keep the decision."""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from mcp_payments.domain import sanctions
from mcp_payments.domain.errors import InvalidInput
from mcp_payments.domain.sanctions import PartyType
from mcp_payments.server.callers import current_caller
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools.models import Mutation
from mcp_payments.server.tools.params import FREE_TEXT
from mcp_payments.services.commands import Kind
from mcp_payments.services.container import Services
from mcp_payments.services.ports import UnitOfWork
from mcp_payments.services.sanctions import Screening, ScreeningResult, match_out
from mcp_payments.services.sanctions_ports import ListVersion


class MatchOut(BaseModel):
    entry_id: int = Field(description="The list entry's number (ent_num in the SDN files).")
    name: str = Field(description="The entry's name as the list publishes it.")
    matched_name: str = Field(description="The name or alias of the entry that matched best.")
    matched_alias: bool = Field(description="True when matched_name is one of the entry's aliases.")
    entry_type: str = Field(description="individual, entity, vessel or aircraft.")
    program: str = Field(description="The sanctions program(s), e.g. SDGT.")
    name_score: float = Field(description="Jaro-Winkler similarity of the normalised names, 0-1.")
    score: float = Field(description="name_score lowered by what contradicts it (see notes), 0-1.")
    date_of_birth_match: bool | None = Field(description="null: no date of birth to compare.")
    country_match: bool | None = Field(description="null: no country to compare.")
    notes: list[str] = Field(description="What lowered the score.")


class ListVersionOut(BaseModel):
    source: Literal["builtin", "loaded"] = Field(
        description="builtin: the small synthetic list shipped with the server (no list was loaded); loaded: "
        "one loaded with `mcp-payments sanctions load`."
    )
    id: str | None = Field(description="The loaded version's id (sls_...); null for the builtin list.")
    sha256: str = Field(description="Hash of the list's files: names the exact content screened against.")
    row_count: int
    entry_count: int
    loaded_at: datetime | None

    @classmethod
    def of(cls, v: ListVersion) -> "ListVersionOut":
        source: Literal["builtin", "loaded"] = "builtin" if v.id is None else "loaded"
        return cls(
            source=source,
            id=v.id,
            sha256=v.sha256,
            row_count=v.row_count,
            entry_count=v.entry_count,
            loaded_at=v.loaded_at,
        )


class ScreeningOut(Mutation):
    screening_id: str
    decision: Literal["clear", "review", "block"] = Field(
        description="clear: no name close enough. review: a close name; a person must decide before money moves. "
        "block: a close name that the date of birth or country confirms."
    )
    matches: list[MatchOut] = Field(description="The closest entries, best first (at most 10).")
    list_version: ListVersionOut
    review_threshold: float
    block_threshold: float
    screened_at: datetime

    def entity_ids(self) -> tuple[str, ...]:
        return (self.screening_id,)

    @classmethod
    def of(cls, r: ScreeningResult, review: float, block: float) -> "ScreeningOut":
        return cls(
            screening_id=r.id,
            decision=r.decision.value,
            matches=[MatchOut(**match_out(h)) for h in r.hits],
            list_version=ListVersionOut.of(r.version),
            review_threshold=review,
            block_threshold=block,
            screened_at=r.screened_at,
        )


def register(box: Toolbox, app: Services) -> None:
    screening = app.get(Screening)

    @box.command(kind=Kind.WRITE, toolset="compliance", title="Screen party")
    async def screen_party(
        uow: UnitOfWork,
        name: Annotated[
            str,
            Field(min_length=1, max_length=sanctions.MAX_NAME, description="The party's full name, any order."),
            FREE_TEXT,
        ],
        type: Annotated[Literal["person", "entity"], Field(description="person or entity (a company, a vessel).")],
        country: Annotated[
            str | None,
            Field(
                default=None,
                pattern="^[A-Za-z]{2}$",
                description="ISO 3166-1 alpha-2 code of the party's country, e.g. DE. A country none of a "
                "listed entry's lowers its score; one of them confirms it.",
            ),
        ] = None,
        date_of_birth: Annotated[
            str | None,
            Field(
                default=None,
                pattern=r"^\d{4}-\d{2}-\d{2}$",
                description="A person's date of birth, YYYY-MM-DD. More than a year from every listed one lowers a "
                "match's score; the same date confirms it.",
            ),
        ] = None,
    ) -> ScreeningOut:
        """Screen a person or an entity against the sanctions list before paying them. Returns a decision (clear,
        review or block), the closest list entries with their scores, and the list version used; the screening
        is recorded. review means a person must look before money moves; block means do not pay."""
        born = _date(date_of_birth) if date_of_birth is not None else None
        party = sanctions.party(name, PartyType(type), country, born, screening.clock.now().date())
        result = await screening.screen(uow, party, current_caller().principal)
        return ScreeningOut.of(result, screening.thresholds.review, screening.thresholds.block)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"date_of_birth {text!r} is not a date: give it as YYYY-MM-DD, e.g. 1960-01-12", field="date_of_birth"
        ) from None
