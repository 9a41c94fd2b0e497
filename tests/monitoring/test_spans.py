"""The MCP SDK's OpenTelemetry spans: with an SDK tracer provider installed, a tool call's span names the tool."""

from collections.abc import Iterator

import pytest
from mcp.client import Client
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.conftest import Stack
from tests.helpers import err, ok

pytestmark = pytest.mark.anyio
_EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The process's tracer provider can be set once: this module's, with an in-memory exporter."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
    _EXPORTER.clear()
    yield _EXPORTER
    _EXPORTER.clear()


async def test_a_tool_calls_span_carries_the_tools_name_and_an_error_marks_it(
    stack: Stack, spans: InMemorySpanExporter
) -> None:
    async with Client(stack.server) as client:
        await ok(client, "get_service_health")
        await err(client, "get_wallet", wallet_id="wal_missing")
    calls = [s for s in spans.get_finished_spans() if (s.attributes or {}).get("mcp.method.name") == "tools/call"]
    server_side = {s.name: s for s in calls if s.kind is trace.SpanKind.SERVER}
    health = server_side["tools/call get_service_health"]
    assert (health.attributes or {})["gen_ai.tool.name"] == "get_service_health"
    assert health.status.status_code is not trace.StatusCode.ERROR
    failed = server_side["tools/call get_wallet"]
    assert (failed.attributes or {})["error.type"] == "tool_error"
    assert "wal_missing" not in str(failed.attributes)
