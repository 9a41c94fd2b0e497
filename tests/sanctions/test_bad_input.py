"""screen_party's bad-input table: every row is refused with a clear code and writes nothing."""

from typing import Any

import pytest
from mcp.client import Client

from tests.conftest import Stack
from tests.server.rows import row_counter
from tests.server.test_bad_input import BAD, Case, assert_refusal

pytestmark = pytest.mark.anyio


def party(**fields: Any) -> dict[str, Any]:
    return {"name": "Tobiah Abarrane", "type": "person", **fields}


TABLE: dict[str, Case] = {
    "name-with-nul": Case("screen_party", party(name="Tobiah\u0000Abarrane"), BAD),
    "name-with-escape": Case("screen_party", party(name="Tobiah \u001b[31mAbarrane"), BAD),
    "name-with-bidi-override": Case("screen_party", party(name="Tobiah \u202eenarrabA"), BAD),
    "name-with-lone-surrogate": Case("screen_party", party(name="Tobiah \ud800"), BAD),
    "name-10kb": Case("screen_party", party(name="x" * 10_240), BAD),
    "name-351-chars": Case("screen_party", party(name="x" * 351), BAD),
    "name-empty": Case("screen_party", party(name=""), BAD),
    "name-only-punctuation": Case("screen_party", party(name="-- ,,, !!"), BAD),
    "name-a-number": Case("screen_party", party(name=12345), BAD),
    "name-missing": Case("screen_party", {"type": "person"}, BAD),
    "type-unknown": Case("screen_party", party(type="company"), BAD),
    "type-missing": Case("screen_party", {"name": "Tobiah Abarrane"}, BAD),
    "type-in-capitals": Case("screen_party", party(type="PERSON"), BAD),
    "dob-not-a-date": Case("screen_party", party(date_of_birth="1960-02-30"), BAD),
    "dob-in-words": Case("screen_party", party(date_of_birth="12 Jan 1960"), BAD),
    "dob-with-a-time": Case("screen_party", party(date_of_birth="1960-01-12T00:00:00"), BAD),
    "dob-in-the-future": Case("screen_party", party(date_of_birth="2999-01-01"), BAD),
    "dob-before-1900": Case("screen_party", party(date_of_birth="1850-01-01"), BAD),
    "dob-a-number": Case("screen_party", party(date_of_birth=19600112), BAD),
    "country-unassigned": Case("screen_party", party(country="XX"), BAD),
    "country-alpha-3": Case("screen_party", party(country="USA"), BAD),
    "country-full-width": Case("screen_party", party(country="ＵＳ"), BAD),
    "country-with-nul": Case("screen_party", party(country="U\u0000"), BAD),
    "unknown-argument": Case("screen_party", party(alias="Toby"), BAD),
    "idempotency-key-too-short": Case("screen_party", party(idempotency_key="k"), BAD),
}


async def test_bad_input_is_refused_with_a_clear_code_and_writes_nothing(
    client: Client, stack: Stack, subtests: pytest.Subtests
) -> None:
    async with row_counter(stack.settings.db_url) as count:
        for name, case in TABLE.items():
            with subtests.test(name):
                before = await count()
                result = await client.call_tool(case.tool, case.arguments)
                assert result.is_error, f"{case.tool} accepted it: {result.structured_content}"
                assert_refusal(result.content[0].text, result.structured_content, case.code)  # type: ignore[union-attr]
                assert await count() == before, "a refused call wrote rows"


async def test_the_same_key_with_another_name_is_an_idempotency_conflict(client: Client, stack: Stack) -> None:
    first = await client.call_tool("screen_party", party(idempotency_key="screen-conflict"))
    assert not first.is_error
    async with row_counter(stack.settings.db_url) as count:
        before = await count()
        result = await client.call_tool(
            "screen_party", party(name="Osgood Vantremble", idempotency_key="screen-conflict")
        )
        assert result.is_error
        assert_refusal(result.content[0].text, result.structured_content, "idempotency_conflict")  # type: ignore[union-attr]
        assert await count() == before
