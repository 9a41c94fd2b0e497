from collections.abc import Iterator
from typing import Any

import pytest
from mcp.client import Client
from structlog.testing import capture_logs

from mcp_payments.logging import merge_call_context
from mcp_payments.server.callers import local_principal
from tests.helpers import err, ok

pytestmark = pytest.mark.anyio


@pytest.fixture
def logs() -> Iterator[list[dict[str, Any]]]:
    # merge_call_context: the tool and principal are bound per call, not passed to each log call.
    with capture_logs(processors=[merge_call_context]) as entries:
        yield entries


def tool_lines(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in entries if e["event"] == "tool_call"]


def assert_canonical(line: dict[str, Any], tool: str, outcome: str) -> None:
    assert line["tool"] == tool
    assert line["principal"] == local_principal()  # stdio and in-memory without a key: the local OS user
    assert "credential" not in line  # the local user authenticates with none
    assert line["outcome"] == outcome
    assert isinstance(line["duration_ms"], float | int)
    assert line["duration_ms"] >= 0
    assert line["log_level"] == "info"


async def test_a_successful_call_logs_one_canonical_line(client: Client, logs: list[dict[str, Any]]) -> None:
    await ok(client, "create_wallet", currency="USD", name="logged")
    [line] = tool_lines(logs)
    assert_canonical(line, "create_wallet", "ok")
    assert line["deduplicated"] is False


async def test_a_replayed_call_logs_one_line_saying_it_was_deduplicated(
    client: Client, logs: list[dict[str, Any]]
) -> None:
    for _ in range(2):
        await ok(client, "create_wallet", currency="USD", idempotency_key="log-replay-1")
    first, second = tool_lines(logs)
    assert (first["deduplicated"], second["deduplicated"]) == (False, True)
    assert_canonical(second, "create_wallet", "ok")


async def test_a_domain_error_logs_one_line_with_the_error_code_as_outcome(
    client: Client, logs: list[dict[str, Any]]
) -> None:
    await err(client, "get_wallet", wallet_id="wal_00000000000000000000000000")
    [line] = tool_lines(logs)
    assert_canonical(line, "get_wallet", "wallet_not_found")


async def test_a_call_rejected_by_the_input_schema_still_logs_one_line(
    client: Client, logs: list[dict[str, Any]]
) -> None:
    await err(client, "get_wallet", wallet_id="not-a-wallet-id")
    [line] = tool_lines(logs)
    assert_canonical(line, "get_wallet", "invalid_argument")


async def test_a_read_tool_logs_one_line_per_call(client: Client, logs: list[dict[str, Any]]) -> None:
    await ok(client, "list_wallets")
    await ok(client, "get_service_health")
    lines = tool_lines(logs)
    assert [line["tool"] for line in lines] == ["list_wallets", "get_service_health"]
    for line in lines:
        assert_canonical(line, line["tool"], "ok")
