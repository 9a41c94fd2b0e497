"""list_payments: newest first, filtered by status, customer and creation time, a page at a time."""

from datetime import UTC, datetime, timedelta

import pytest

from mcp_payments.domain.errors import InvalidCursor
from mcp_payments.services.payments.lifecycle import created_position
from tests.conftest import FakeClock, Stack
from tests.payments.agent import Agent

pytestmark = pytest.mark.anyio


async def listed(agent: Agent, **query: object) -> list[str]:
    return [p["id"] for p in (await agent.ok("list_payments", **query))["payments"]]


async def test_payments_are_listed_newest_first_and_filtered_by_status(agent: Agent) -> None:
    first = (await agent.pay("10.00"))["id"]
    authorized = (await agent.pay("11.00", capture_method="manual"))["id"]
    declined = (
        await agent.err("create_payment", currency="USD", amount="12.00", payment_method="pm_card_chargeDeclined")
    )["details"]["payment_id"]
    last = (await agent.pay("13.00"))["id"]

    assert await listed(agent) == [last, declined, authorized, first]
    assert await listed(agent, status="succeeded") == [last, first]
    assert await listed(agent, status="requires_capture") == [authorized]
    assert await listed(agent, status="requires_payment_method") == [declined]
    assert await listed(agent, status="canceled") == []


async def test_the_payment_list_pages_with_a_cursor(agent: Agent) -> None:
    ids = [(await agent.pay(f"{n}.00"))["id"] for n in range(1, 6)]

    first = await agent.ok("list_payments", limit=2)
    second = await agent.ok("list_payments", limit=2, cursor=first["next_cursor"])
    third = await agent.ok("list_payments", limit=2, cursor=second["next_cursor"])

    pages = [[p["id"] for p in page["payments"]] for page in (first, second, third)]
    assert pages == [ids[:2:-1], ids[2:0:-1], ids[:1]]
    assert third["next_cursor"] is None


async def test_payments_are_filtered_by_creation_time_with_an_inclusive_start_and_exclusive_end(
    agent: Agent, clocked_stack: Stack
) -> None:
    clock = clocked_stack.clock
    assert isinstance(clock, FakeClock)
    early = (await agent.pay("10.00"))["id"]
    clock.advance(days=1)
    middle = (await agent.pay("11.00"))["id"]
    clock.advance(days=1)
    late = (await agent.pay("12.00"))["id"]

    window = await listed(agent, created_from="2026-01-02T00:00:00Z", created_to="2026-01-03T00:00:00Z")

    assert window == [middle]
    assert await listed(agent, created_to="2026-01-02T00:00:00Z") == [early]
    assert await listed(agent, created_from="2026-01-02T00:00:00+00:00") == [late, middle]
    naive = await agent.err("list_payments", created_from="2026-01-02T00:00:00")
    assert naive["code"] == "invalid_argument"


async def test_with_a_creation_time_range_payments_page_by_creation_time_then_id(
    agent: Agent, clocked_stack: Stack
) -> None:
    clock = clocked_stack.clock
    assert isinstance(clock, FakeClock)
    clock.advance(days=2)
    later = (await agent.pay("10.00"))["id"]
    clock.advance(days=-1)  # the sandbox clock set back: a newer id, an older created_at
    tied = [(await agent.pay(f"{n}.00"))["id"] for n in (11, 12, 13)]  # three at one instant
    clock.advance(days=-1)
    earliest = (await agent.pay("14.00"))["id"]
    window = {"created_from": "2026-01-01T00:00:00Z", "created_to": "2026-01-04T00:00:00Z"}

    pages, cursor = [], None
    while True:
        page = await agent.ok("list_payments", limit=2, **window, **({"cursor": cursor} if cursor else {}))
        pages.append([p["id"] for p in page["payments"]])
        if (cursor := page["next_cursor"]) is None:
            break

    assert pages == [[later, tied[2]], [tied[1], tied[0]], [earliest]]
    assert await listed(agent) == [earliest, *tied[::-1], later], "without a range: newest id first, as before"


async def test_a_cursor_of_one_order_is_refused_by_the_other(agent: Agent) -> None:
    for n in (1, 2, 3):
        await agent.pay(f"{n}.00")
    window = {"created_from": "2026-01-01T00:00:00Z"}
    by_id = (await agent.ok("list_payments", limit=1))["next_cursor"]
    by_time = (await agent.ok("list_payments", limit=1, **window))["next_cursor"]

    refused = [
        await agent.err("list_payments", limit=1, cursor=by_id, **window),
        await agent.err("list_payments", limit=1, cursor=by_time),
    ]

    assert [r["code"] for r in refused] == ["invalid_cursor", "invalid_cursor"]


@pytest.mark.parametrize(
    "position",
    ["", "123", "|pay_1", "12x|pay_1", "-5|pay_1", "١٢|pay_1", "123|cus_1", f"{10**18}|pay_1"],
)
def test_a_by_created_position_this_server_never_writes_is_an_invalid_cursor(position: str) -> None:
    # Reached only with a cursor signed by the deployment's key: checked all the same, as every cursor position is.
    with pytest.raises(InvalidCursor):
        created_position(position)


def test_a_by_created_position_reads_back_the_time_and_id_it_was_written_from() -> None:
    at = datetime(2026, 5, 1, 12, 0, 0, 120, tzinfo=UTC)
    micros = (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)

    assert created_position(f"{micros}|pay_01ABC") == (at, "pay_01ABC")
