"""get_tool_metrics over two services sharing one database: each counts its calls in memory and flushes them with
an additive upsert, and either one reports the calls of both, by tool, outcome and latency."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from mcp.client import Client

from mcp_payments.bootstrap import application
from mcp_payments.config import Settings
from mcp_payments.domain import latency
from mcp_payments.services.call_stats import CallStats
from mcp_payments.services.container import Services
from tests.conftest import TEST_SECRETS, FakeClock
from tests.helpers import err, ok
from tests.server.rows import row_counter

pytestmark = pytest.mark.anyio


@pytest.fixture
async def two(db_url: str, fake_clock: FakeClock) -> AsyncIterator[list[tuple[Client, Services]]]:
    """Two servers on one database, as two processes would be (each its own services and memory)."""
    settings = Settings(db_url=db_url, background=False, **TEST_SECRETS)
    async with AsyncExitStack() as stack:
        pairs = []
        for _ in range(2):
            server, _box, services = await stack.enter_async_context(application(settings, clock=fake_clock))
            client = await stack.enter_async_context(Client(server))
            pairs.append((client, services))
        yield pairs


async def flush(*services: Services) -> None:
    for s in services:
        await s.get(CallStats).flush(s.calls)


def by_tool(metrics: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["tool"]: t for t in metrics["tools"]}


async def test_calls_made_on_two_servers_are_counted_together_with_errors_by_code(
    two: list[tuple[Client, Services]],
) -> None:
    (a, sa), (b, sb) = two
    for _ in range(3):
        await ok(a, "get_service_health")
    await ok(b, "get_service_health")
    await err(b, "get_wallet", wallet_id="wal_missing")
    await err(a, "get_wallet", wallet_id="wal_missing")
    await ok(a, "create_wallet", currency="USD", name="ops")
    await flush(sa, sb)
    # The upsert adds: a second flush of new calls lands on the same minute's rows.
    await ok(b, "get_service_health")
    await flush(sb)

    for client in (a, b):
        metrics = await ok(client, "get_tool_metrics", window_minutes=15)
        tools = by_tool(metrics)
        assert tools["get_service_health"]["calls"] == 5
        assert tools["get_service_health"]["errors"] == 0
        assert tools["get_wallet"]["calls"] == 2
        assert tools["get_wallet"]["errors_by_code"] == {"wallet_not_found": 2}
        assert tools["create_wallet"]["calls"] == 1
        p50, p95, p99 = (tools["get_service_health"][k] for k in ("p50_ms", "p95_ms", "p99_ms"))
        assert 0 < p50 <= p95 <= p99
        assert p50 in {latency.upper_edge_ms(i) for i in range(latency.LAST_BIN + 1)}
        # get_tool_metrics's own earlier call on `a` is counted in a's memory (not flushed yet), not in b's.
        assert metrics["calls"] == sum(t["calls"] for t in metrics["tools"])


async def test_a_call_not_flushed_yet_is_shown_by_its_own_process(two: list[tuple[Client, Services]]) -> None:
    (a, _), (b, _) = two
    await ok(a, "get_service_health")
    assert by_tool(await ok(a, "get_tool_metrics"))["get_service_health"]["calls"] == 1
    assert "get_service_health" not in by_tool(await ok(b, "get_tool_metrics"))


async def test_calls_older_than_the_window_are_left_out(
    two: list[tuple[Client, Services]], fake_clock: FakeClock
) -> None:
    (a, sa), _ = two
    await ok(a, "get_service_health")
    await flush(sa)
    fake_clock.advance(minutes=20)
    await ok(a, "get_service_health")
    assert by_tool(await ok(a, "get_tool_metrics", window_minutes=15))["get_service_health"]["calls"] == 1
    assert by_tool(await ok(a, "get_tool_metrics", window_minutes=21))["get_service_health"]["calls"] == 2
    tools = by_tool(await ok(a, "get_tool_metrics", window_minutes=60, tools=["get_service_health"]))
    assert set(tools) == {"get_service_health"}


async def test_refused_calls_count_under_their_code_and_made_up_tool_names_do_not_count(
    two: list[tuple[Client, Services]],
) -> None:
    (a, _), _ = two
    await err(a, "create_wallet", currency="USD", name="x", amount_cents=5)  # unknown argument: refused early
    result = await a.call_tool("no_such_tool", {})
    assert result.is_error
    tools = by_tool(await ok(a, "get_tool_metrics"))
    assert tools["create_wallet"]["errors_by_code"] == {"invalid_argument": 1}
    assert "no_such_tool" not in tools


async def test_a_flush_that_fails_keeps_its_counts_for_the_next(two: list[tuple[Client, Services]]) -> None:
    (a, sa), _ = two
    await ok(a, "get_service_health")
    stats = sa.get(CallStats)

    class Broken:
        async def write(self, _operation: object) -> None:
            raise OSError("database gone")

    with pytest.raises(OSError, match="database gone"):
        await stats.flush(Broken())  # type: ignore[arg-type]
    await flush(sa)
    await ok(a, "get_service_health")
    counted = by_tool(await ok(a, "get_tool_metrics"))["get_service_health"]["calls"]
    assert counted == 2  # the first call was put back and flushed, not lost nor counted twice


BAD = [
    ({"window_minutes": 0}, "window_minutes"),
    ({"window_minutes": 10081}, "window_minutes"),
    ({"window_minutes": -5}, "window_minutes"),
    ({"window_minutes": 2**63}, "window_minutes"),
    ({"window_minutes": "60"}, "window_minutes"),
    ({"window_minutes": 1.5}, "window_minutes"),
    ({"tools": ["get_wallet", "no_such_tool"]}, "no_such_tool"),
    ({"tools": ["get_wallet\x00"]}, "control character"),
    ({"tools": ["get\u202ewallet"]}, "control character"),
    ({"tools": ["x" * 101]}, "tools"),
    ({"tools": ["get_wallet"] * 101}, "tools"),
    ({"tools": "get_wallet"}, "tools"),
]


@pytest.mark.parametrize(("arguments", "named"), BAD)
async def test_bad_input_is_a_clear_tool_error_that_writes_nothing(
    two: list[tuple[Client, Services]], db_url: str, arguments: dict[str, Any], named: str
) -> None:
    (a, sa), _ = two
    async with row_counter(db_url) as count:
        before = await count()
        body = await err(a, "get_tool_metrics", **arguments)
        await flush(sa)  # the refused call itself is counted: the statistics grow, nothing else
        after = await count()
    assert body["code"] == "invalid_argument"
    assert named in body["message"] or named in str(body["details"])
    assert "Traceback" not in body["message"]
    assert "SELECT" not in body["message"]
    assert {k: v for k, v in after.items() if k != "tool_call_stats"} == {
        k: v for k, v in before.items() if k != "tool_call_stats"
    }
