"""The notification tools' bad-input table: every row is refused with a clear code and writes nothing."""

from typing import Any

import pytest

from mcp_payments.domain.webhooks import EVENT_TYPES
from tests.conftest import Stack
from tests.notifications.conftest import endpoint
from tests.payments.agent import Agent
from tests.server.rows import row_counter
from tests.server.test_bad_input import BAD, Case, assert_refusal

pytestmark = pytest.mark.anyio

UNKNOWN_ENDPOINT = "whe_00000000000000000000000000"
UNKNOWN_DELIVERY = "whd_00000000000000000000000000"


def new(**fields: Any) -> dict[str, Any]:
    return {"url": "https://hooks.example.com/in", "event_types": ["payment.succeeded"], **fields}


TABLE: dict[str, Case] = {
    "url-plain-http": Case("create_webhook_endpoint", new(url="http://hooks.example.com/in"), BAD),
    "url-ftp": Case("create_webhook_endpoint", new(url="ftp://hooks.example.com/in"), BAD),
    "url-javascript": Case("create_webhook_endpoint", new(url="javascript:alert(1)"), BAD),
    "url-empty": Case("create_webhook_endpoint", new(url=""), BAD),
    "url-no-host": Case("create_webhook_endpoint", new(url="https:///in"), BAD),
    "url-relative": Case("create_webhook_endpoint", new(url="/in"), BAD),
    "url-with-password": Case("create_webhook_endpoint", new(url="https://u:p@hooks.example.com/in"), BAD),
    "url-metadata-service": Case("create_webhook_endpoint", new(url="https://169.254.169.254/latest"), BAD),
    "url-private": Case("create_webhook_endpoint", new(url="https://192.168.0.10/in"), BAD),
    "url-nul": Case("create_webhook_endpoint", new(url="https://hooks.example.com/\u0000"), BAD),
    "url-newline-header-injection": Case(
        "create_webhook_endpoint", new(url="https://hooks.example.com/in\r\nX-Evil: 1"), BAD
    ),
    "url-bidi-override": Case("create_webhook_endpoint", new(url="https://hooks.example.com/\u202ein"), BAD),
    "url-10kb": Case("create_webhook_endpoint", new(url="https://hooks.example.com/" + "a" * 10_240), BAD),
    "url-a-number": Case("create_webhook_endpoint", new(url=12), BAD),
    "url-bad-port": Case("create_webhook_endpoint", new(url="https://hooks.example.com:70000/in"), BAD),
    "events-unknown": Case("create_webhook_endpoint", new(event_types=["payment.exploded"]), BAD),
    "events-empty": Case("create_webhook_endpoint", new(event_types=[]), BAD),
    "events-a-string": Case("create_webhook_endpoint", new(event_types="payment.succeeded"), BAD),
    "events-huge-list": Case("create_webhook_endpoint", new(event_types=["payment.succeeded"] * 10_000), BAD),
    "events-with-control-chars": Case("create_webhook_endpoint", new(event_types=["payment.\u0000succeeded"]), BAD),
    "events-too-long": Case("create_webhook_endpoint", new(event_types=["x" * 1000]), BAD),
    "events-a-wildcard": Case("create_webhook_endpoint", new(event_types=["*"]), BAD),
    "description-nul": Case("create_webhook_endpoint", new(description="a\u0000b"), BAD),
    "description-too-long": Case("create_webhook_endpoint", new(description="x" * 201), BAD),
    "delete-unknown": Case("delete_webhook_endpoint", {"endpoint_id": UNKNOWN_ENDPOINT}, "webhook_endpoint_not_found"),
    "delete-foreign-id": Case("delete_webhook_endpoint", {"endpoint_id": "pay_00000000000000"}, BAD),
    "delete-path-traversal": Case("delete_webhook_endpoint", {"endpoint_id": "whe_../../x"}, BAD),
    "rotate-unknown": Case("rotate_webhook_secret", {"endpoint_id": UNKNOWN_ENDPOINT}, "webhook_endpoint_not_found"),
    "rotate-grace-negative": Case("rotate_webhook_secret", {"endpoint_id": "$endpoint", "grace_hours": -1}, BAD),
    "rotate-grace-past-a-week": Case("rotate_webhook_secret", {"endpoint_id": "$endpoint", "grace_hours": 169}, BAD),
    "rotate-grace-huge": Case("rotate_webhook_secret", {"endpoint_id": "$endpoint", "grace_hours": 2**70}, BAD),
    "rotate-grace-a-float": Case("rotate_webhook_secret", {"endpoint_id": "$endpoint", "grace_hours": 1.5}, BAD),
    "replay-unknown": Case("replay_webhook", {"delivery_id": UNKNOWN_DELIVERY}, "webhook_delivery_not_found"),
    "replay-an-endpoint-id": Case("replay_webhook", {"delivery_id": "$endpoint"}, BAD),
    "deliveries-unknown-endpoint": Case(
        "list_webhook_deliveries", {"endpoint_id": UNKNOWN_ENDPOINT}, "webhook_endpoint_not_found"
    ),
    "deliveries-unknown-status": Case("list_webhook_deliveries", {"status": "lost"}, BAD),
    "deliveries-cursor-forged": Case("list_webhook_deliveries", {"cursor": "garbage"}, "invalid_cursor"),
    "endpoints-cursor-forged": Case("list_webhook_endpoints", {"cursor": "garbage"}, "invalid_cursor"),
    "endpoints-limit-over-100": Case("list_webhook_endpoints", {"limit": 101}, BAD),
}


async def test_bad_input_is_refused_with_a_clear_code_and_writes_nothing(
    admin: Agent, clocked_stack: Stack, subtests: pytest.Subtests
) -> None:
    names = {"$endpoint": (await endpoint(admin, "https://hooks.example.com/in"))["endpoint"]["id"]}
    async with row_counter(clocked_stack.settings.db_url) as count:
        for name, case in TABLE.items():
            with subtests.test(name):
                arguments = {k: names.get(v, v) if isinstance(v, str) else v for k, v in case.arguments.items()}
                before = await count()
                result = await admin.call(case.tool, **arguments)
                assert result.is_error, f"{case.tool} accepted it: {result.structured_content}"
                assert_refusal(result.content[0].text, result.structured_content, case.code)  # type: ignore[union-attr]
                assert await count() == before, "a refused call wrote rows"


async def test_an_unknown_event_type_is_refused_naming_the_known_ones(admin: Agent) -> None:
    refused = await admin.err("create_webhook_endpoint", **new(event_types=["payment.exploded", "payment.succeeded"]))
    assert refused["code"] == BAD
    assert all(t in refused["message"] for t in EVENT_TYPES)


async def test_at_most_fifty_endpoints_are_kept(admin: Agent) -> None:
    for n in range(50):
        await endpoint(admin, f"https://hooks.example.com/{n}")
    refused = await admin.err("create_webhook_endpoint", **new(url="https://hooks.example.com/51"))
    assert refused["code"] == BAD
    assert "delete one" in refused["message"]
