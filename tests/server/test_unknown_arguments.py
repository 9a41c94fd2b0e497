"""Arguments the tool does not have are refused by name, never silently dropped."""

import json

import pytest
from mcp.client import Client

from tests.server.rows import row_counter

pytestmark = pytest.mark.anyio


async def test_a_mistyped_argument_is_named_in_an_invalid_argument_error_and_nothing_is_written(
    client: Client, db_url: str
) -> None:
    async with row_counter(db_url) as count:
        before = await count()
        result = await client.call_tool("create_wallet", {"currency": "USD", "amount_cents": 100, "nmae": "x"})
        assert await count() == before
    assert result.is_error
    body = json.loads(result.content[0].text)  # type: ignore[union-attr]
    assert body["code"] == "invalid_argument"
    assert [p["field"] for p in body["details"]["problems"]] == ["amount_cents", "nmae"]
    assert "amount_cents" in body["message"]


@pytest.mark.parametrize("name", ["4242424242424242", "4242.4242.4242.4242", "card_4242 4242 4242 4242"])
async def test_a_card_number_sent_as_an_argument_name_is_not_echoed_back(client: Client, name: str) -> None:
    result = await client.call_tool("create_wallet", {"currency": "USD", name: "x"})

    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    body = json.loads(text)
    assert body["code"] == "invalid_argument"
    assert "4242" in text
    assert "42424242" not in text.replace(" ", "").replace(".", "")
    assert [p["field"] for p in body["details"]["problems"]] == [name.split("4242")[0] + "****4242"]
