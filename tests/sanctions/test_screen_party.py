"""screen_party through a real MCP client, and list versions loaded through the service, on both databases."""

import json
from typing import Any

import anyio
import pytest
from mcp.client import Client
from sqlalchemy import select

from mcp_payments.adapters.db import tables
from mcp_payments.adapters.db.engine import open_database
from mcp_payments.adapters.sanctions_files import builtin
from mcp_payments.domain import sanctions
from mcp_payments.domain.errors import InvalidInput, InvalidSanctionsList
from mcp_payments.domain.sanctions import PartyType
from mcp_payments.services.sanctions import Screening
from tests.conftest import Stack
from tests.helpers import ok
from tests.sanctions.files import second_list
from tests.server.rows import row_counter

pytestmark = pytest.mark.anyio
SHIPPED_SHA = sanctions.parse(builtin()).sha256


async def screenings(db_url: str) -> list[dict[str, Any]]:
    db = open_database(db_url)
    try:
        async with db.reader.connect() as conn:
            rows = await conn.execute(select(tables.screenings).order_by(tables.screenings.c.screened_at))
            return [dict(r._mapping) for r in rows]
    finally:
        await db.dispose()


async def test_a_name_on_the_shipped_list_is_held_for_review_and_the_screening_is_recorded(
    client: Client, stack: Stack
) -> None:
    result = await ok(client, "screen_party", name="Ignatius Pelleas Zorvak", type="person")
    assert result["decision"] == "review"
    [match] = result["matches"]
    assert match["entry_id"] == 9001
    assert match["program"] == "FICTION-A"
    assert match["score"] == 1.0
    assert match["matched_name"] == "ZORVAK, Ignatius Pelleas"
    assert match["matched_alias"] is False
    assert result["list_version"] == {
        "source": "builtin",
        "id": None,
        "sha256": SHIPPED_SHA,
        "row_count": 23,
        "entry_count": 10,
        "loaded_at": None,
    }
    [row] = await screenings(stack.settings.db_url)
    assert (row["id"], row["decision"], row["list_sha256"], row["list_id"]) == (
        result["screening_id"],
        "review",
        SHIPPED_SHA,
        None,
    )
    assert json.loads(row["matches"])[0]["entry_id"] == 9001


async def test_a_confirmed_match_blocks_and_an_unknown_name_is_clear(client: Client) -> None:
    blocked = await ok(
        client, "screen_party", name="ZORVAK Ignatius", type="person", country="IS", date_of_birth="1960-01-12"
    )
    assert blocked["decision"] == "block"
    assert blocked["matches"][0]["date_of_birth_match"] is True
    assert blocked["matches"][0]["country_match"] is True
    clear = await ok(client, "screen_party", name="Jane Appleseed", type="person")
    assert (clear["decision"], clear["matches"]) == ("clear", [])


async def test_screening_is_idempotent_under_a_key_and_audited(client: Client, stack: Stack) -> None:
    arguments = {"name": "Tobiah Abarrane", "type": "person", "idempotency_key": "screen-0001"}
    first = await ok(client, "screen_party", **arguments)
    again = await ok(client, "screen_party", **arguments)
    assert again["deduplicated"] is True
    assert again["screening_id"] == first["screening_id"]
    assert len(await screenings(stack.settings.db_url)) == 1
    audit = await client.call_tool("get_audit_log", {"tool": "screen_party"})
    log = dict(audit.structured_content or {})
    [record] = log["records"]
    assert record["entity_ids"] == [first["screening_id"]]
    assert record["outcome"] == "ok"
    assert "Abarrane" not in json.dumps(log)  # the audit record holds a hash of the arguments, never the name


async def test_a_loaded_version_replaces_the_shipped_list_and_each_screening_names_its_version(
    client: Client, stack: Stack
) -> None:
    screening = stack.services.get(Screening)
    before = await ok(client, "screen_party", name="Hortensia Plumtree-Quasimodo", type="person")
    assert before["decision"] == "clear"
    assert before["list_version"]["source"] == "builtin"
    loaded = await screening.load("cli:tester", second_list())
    assert loaded.created
    assert loaded.version.entry_count == 11
    assert loaded.version.row_count == 24
    # A new key: the same call within the deduplication window would return the first answer.
    after = await ok(
        client, "screen_party", name="Hortensia Plumtree-Quasimodo", type="person", idempotency_key="after-load"
    )
    assert after["decision"] == "review"
    assert after["deduplicated"] is False
    assert after["list_version"]["id"] == loaded.version.id
    assert after["list_version"]["source"] == "loaded"
    rows = await screenings(stack.settings.db_url)
    assert [r["list_id"] for r in rows] == [None, loaded.version.id]


async def test_loading_the_same_content_again_changes_nothing(stack: Stack) -> None:
    screening = stack.services.get(Screening)
    first = await screening.load("cli:tester", second_list())
    async with row_counter(stack.settings.db_url) as count:
        before = await count()
        again = await screening.load("cli:tester", second_list())
        assert await count() == before
    assert (again.created, again.version.id, again.version.sha256) == (False, first.version.id, first.version.sha256)
    versions = await stack.services.calls.read(lambda uow: screening.versions(uow, 10))
    assert [v.id for v in versions] == [first.version.id]
    assert versions[0].loaded_by == "cli:tester"
    assert versions[0].loaded_at is not None


async def test_two_loads_of_the_same_files_at_once_store_one_version(stack: Stack) -> None:
    screening = stack.services.get(Screening)
    results: list[Any] = []

    async def load() -> None:
        results.append(await screening.load("cli:tester", second_list()))

    async with anyio.create_task_group() as tg:
        tg.start_soon(load)
        tg.start_soon(load)
    assert len({r.version.id for r in results}) == 1
    versions = await stack.services.calls.read(lambda uow: screening.versions(uow, 10))
    assert len(versions) == 1


async def test_a_malformed_list_changes_nothing(stack: Stack) -> None:
    screening = stack.services.get(Screening)
    broken = {**second_list(), "add.csv": b'9001,201,"unterminated\r\n'}
    async with row_counter(stack.settings.db_url) as count:
        before = await count()
        with pytest.raises(InvalidSanctionsList, match=r"add\.csv line 1"):
            await screening.load("cli:tester", broken)
        assert await count() == before


async def test_other_code_screens_through_the_service_in_its_own_unit_of_work(stack: Stack) -> None:
    screening = stack.services.get(Screening)
    party = sanctions.party("Osgood Vantremble", PartyType.PERSON, None, None, stack.services.clock.now().date())

    async def hook(uow: Any) -> Any:
        return await screening.screen(uow, party, "system:create_customer")

    result = await stack.services.calls.write(hook)
    assert result.decision is sanctions.Decision.REVIEW
    assert result.hits[0].entry.ent_num == 9010
    [row] = await screenings(stack.settings.db_url)
    assert row["screened_by"] == "system:create_customer"
    with pytest.raises(InvalidInput, match="no letters or digits"):
        sanctions.party("...", PartyType.PERSON, None, None, stack.services.clock.now().date())
