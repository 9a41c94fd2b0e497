"""Mandates through a real MCP client, on both databases: an operator grants an agent bounded authority, the agent
pays under it, and no interleaving of calls, revocations or replays spends more than it allows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import anyio
import pytest
from mcp.client import Client
from mcp.shared.exceptions import MCPError

from mcp_payments.domain.roles import Role
from tests.conftest import FakeClock, Stack
from tests.controls.test_policy_tools import client_as
from tests.helpers import err, funded_wallet, ok
from tests.server.rows import row_counter

pytestmark = pytest.mark.anyio
AGENT, OPERATOR = "key:bot", "key:lead"


@pytest.fixture
async def agent(clocked_stack: Stack) -> AsyncIterator[Client]:
    async with client_as(clocked_stack, AGENT, Role.AGENT) as client:
        yield client


@pytest.fixture
async def operator(clocked_stack: Stack) -> AsyncIterator[Client]:
    async with client_as(clocked_stack, OPERATOR, Role.OPERATOR) as client:
        yield client


def in_days(clock: FakeClock, days: float) -> str:
    return (clock.now() + timedelta(days=days)).isoformat()


async def grant(operator: Client, clock: FakeClock, **arguments: Any) -> dict[str, Any]:
    fields = {"principal": AGENT, "currency": "USD", "description": "groceries", "max_total": "100.00"}
    created = await ok(operator, "create_mandate", **{**fields, "expires_at": in_days(clock, 30), **arguments})
    return dict(created["mandate"])


async def pay(agent: Client, source: str, destination: str, amount: str, **extra: Any) -> Any:
    arguments = {"source_wallet_id": source, "destination_wallet_id": destination, "currency": "USD"}
    return await agent.call_tool("transfer_funds", {**arguments, "amount": amount, **extra})


def code_of(result: Any) -> str:
    import json

    return str(json.loads(result.content[0].text)["code"])


async def remaining(client: Client, mandate_id: str) -> str:
    return str((await ok(client, "get_mandate", mandate_id=mandate_id))["remaining"]["amount"])


async def test_twenty_concurrent_transfers_under_a_mandate_of_100_succeed_exactly_ten_times(
    agent: Client, operator: Client, fake_clock: FakeClock
) -> None:
    source, destination = await funded_wallet(agent, "1000.00"), await funded_wallet(agent, "0")
    mandate = await grant(operator, fake_clock, max_per_payment="10.00")
    results: list[Any] = []

    async def one(i: int) -> None:
        results.append(
            await pay(agent, source, destination, "10.00", mandate_id=mandate["id"], idempotency_key=f"mandate-{i:04d}")
        )

    with anyio.fail_after(120):
        async with anyio.create_task_group() as tg:
            for i in range(20):
                tg.start_soon(one, i)

    assert sum(not r.is_error for r in results) == 10
    assert {code_of(r) for r in results if r.is_error} == {"mandate_exhausted"}
    assert (await ok(agent, "get_wallet", wallet_id=destination))["posted"]["amount"] == "100.00"
    assert await remaining(agent, mandate["id"]) == "0.00"


async def test_revocation_racing_with_calls_never_overspends_and_stops_every_later_call(
    agent: Client, operator: Client, fake_clock: FakeClock
) -> None:
    source, destination = await funded_wallet(agent, "1000.00"), await funded_wallet(agent, "0")
    mandate = await grant(operator, fake_clock)
    results: list[Any] = []

    async def one(i: int) -> None:
        results.append(
            await pay(agent, source, destination, "10.00", mandate_id=mandate["id"], idempotency_key=f"revoke-{i:04d}")
        )

    with anyio.fail_after(120):
        async with anyio.create_task_group() as tg:
            for i in range(15):
                tg.start_soon(one, i)
            tg.start_soon(lambda: ok(operator, "revoke_mandate", mandate_id=mandate["id"]))

    paid = sum(not r.is_error for r in results)
    assert {code_of(r) for r in results if r.is_error} <= {"mandate_revoked", "mandate_exhausted"}
    assert paid <= 10
    read = await ok(operator, "get_mandate", mandate_id=mandate["id"])
    assert (read["status"], read["spent_this_period"]["amount_minor"]) == ("revoked", paid * 1000)
    assert (await ok(agent, "get_wallet", wallet_id=destination))["posted"]["amount_minor"] == paid * 1000
    late = await pay(agent, source, destination, "1.00", mandate_id=mandate["id"])
    assert code_of(late) == "mandate_revoked"


async def test_a_deduplicated_replay_does_not_debit_twice_and_the_debit_is_audited(
    clocked_stack: Stack, agent: Client, operator: Client, fake_clock: FakeClock
) -> None:
    source, destination = await funded_wallet(agent, "100.00"), await funded_wallet(agent, "0")
    mandate = await grant(operator, fake_clock)

    first = await pay(agent, source, destination, "10.00", mandate_id=mandate["id"], idempotency_key="rent-0001")
    replay = await pay(agent, source, destination, "10.00", mandate_id=mandate["id"], idempotency_key="rent-0001")
    blind = await pay(agent, source, destination, "5.00", mandate_id=mandate["id"])
    blind_again = await pay(agent, source, destination, "5.00", mandate_id=mandate["id"])

    assert not first.is_error
    assert replay.structured_content["deduplicated"] is True
    assert blind_again.structured_content["deduplicated"] is True
    assert not blind.is_error
    assert await remaining(agent, mandate["id"]) == "85.00"
    log = await ok(operator, "get_audit_log", limit=100)
    tools = {r["tool"]: r for r in log["records"]}
    assert mandate["id"] in tools["create_mandate"]["entity_ids"]
    paid_under = [r for r in log["records"] if r["tool"] == "transfer_funds" and mandate["id"] in r["entity_ids"]]
    assert len(paid_under) == 2, "one record per debit, none for the replays"


async def test_a_call_under_a_mandate_is_held_to_it_instead_of_the_policy_and_without_one_to_the_policy(
    clocked_stack: Stack, agent: Client, operator: Client, fake_clock: FakeClock
) -> None:
    source, destination = await funded_wallet(agent, "500.00"), await funded_wallet(agent, "0")
    async with client_as(clocked_stack, "key:root", Role.ADMIN) as admin:
        await ok(admin, "set_spending_policy", principal=AGENT, currency="USD", max_per_call="5.00")
    mandate = await grant(operator, fake_clock, max_per_payment="50.00")

    assert not (await pay(agent, source, destination, "50.00", mandate_id=mandate["id"])).is_error
    assert code_of(await pay(agent, source, destination, "50.00")) == "limit_exceeded"
    assert not (await pay(agent, source, destination, "5.00")).is_error


@pytest.mark.parametrize(
    ("period", "later", "resets"),
    [
        ("daily", timedelta(days=1), "2026-01-02T00:00:00+00:00"),
        ("monthly", timedelta(days=31), "2026-02-01T00:00:00+00:00"),
        ("once", timedelta(days=40), None),
    ],
)
async def test_the_total_resets_each_period_and_a_once_mandate_never(
    agent: Client, operator: Client, fake_clock: FakeClock, period: str, later: timedelta, resets: str | None
) -> None:
    source, destination = await funded_wallet(agent, "500.00"), await funded_wallet(agent, "0")
    fake_clock.advance(hours=9)
    mandate = await grant(operator, fake_clock, max_total="20.00", period=period, expires_at=in_days(fake_clock, 60))
    assert not (await pay(agent, source, destination, "20.00", mandate_id=mandate["id"])).is_error

    refused = await err(
        agent,
        "transfer_funds",
        source_wallet_id=source,
        destination_wallet_id=destination,
        currency="USD",
        amount="0.01",
        mandate_id=mandate["id"],
    )
    assert refused["code"] == "mandate_exhausted"
    assert (refused["details"]["remaining"], refused["details"]["resets_at"]) == ("0.00", resets)
    assert ("it does not reset" in refused["message"]) is (resets is None)

    fake_clock.advance(seconds=later.total_seconds())
    again = await pay(agent, source, destination, "20.00", mandate_id=mandate["id"])
    assert again.is_error is (resets is None)


async def test_an_expired_a_foreign_an_unknown_a_mismatched_or_a_payee_outside_the_mandate_is_refused(
    clocked_stack: Stack, agent: Client, operator: Client, fake_clock: FakeClock
) -> None:
    source, destination = await funded_wallet(agent, "500.00"), await funded_wallet(agent, "0")
    other, eur = await funded_wallet(agent, "0"), await funded_wallet(agent, "0", currency="EUR")
    narrow = await grant(operator, fake_clock, allowed_payees=[destination], max_per_payment="10.00")
    theirs = await grant(operator, fake_clock, principal="key:other")
    short = await grant(operator, fake_clock, expires_at=in_days(fake_clock, 1))

    async def refused(amount: str, mandate_id: str, to: str = destination, currency: str = "USD") -> dict[str, Any]:
        arguments = {"source_wallet_id": source, "destination_wallet_id": to, "currency": currency}
        return await err(agent, "transfer_funds", **arguments, amount=amount, mandate_id=mandate_id)

    payee = await refused("1.00", narrow["id"], to=other)
    assert (payee["code"], payee["details"]["reason"]) == ("payee_not_allowed", "not_in_mandate")
    over = await refused("10.01", narrow["id"])
    assert (over["code"], over["details"]["max_per_payment"]) == ("mandate_exhausted", "10.00")
    mismatch = await refused("1.00", short["id"], to=eur, currency="EUR")
    assert (mismatch["code"], mismatch["details"]["mandate_currency"]) == ("currency_mismatch", "USD")
    foreign, unknown = await refused("1.00", theirs["id"]), await refused("1.00", "mdt_doesnotexist")
    assert foreign["code"] == unknown["code"] == "mandate_not_found"
    assert foreign["message"].replace(theirs["id"], "X") == unknown["message"].replace("mdt_doesnotexist", "X")
    fake_clock.advance(days=2)
    assert (await refused("1.00", short["id"]))["code"] == "mandate_expired"
    assert (await ok(agent, "get_wallet", wallet_id=destination))["posted"]["amount"] == "0.00"
    foreign_read = await err(agent, "get_mandate", mandate_id=theirs["id"])
    assert foreign_read["code"] == "mandate_not_found"


async def test_an_agent_lists_only_its_own_mandates_and_an_operator_everyones(
    clocked_stack: Stack, agent: Client, operator: Client, fake_clock: FakeClock
) -> None:
    mine = await grant(operator, fake_clock)
    theirs = await grant(operator, fake_clock, principal="key:other")
    await ok(operator, "revoke_mandate", mandate_id=theirs["id"])

    assert [m["id"] for m in (await ok(agent, "list_mandates"))["mandates"]] == [mine["id"]]
    everyone = (await ok(operator, "list_mandates"))["mandates"]
    assert {m["id"] for m in everyone} == {mine["id"], theirs["id"]}
    revoked = (await ok(operator, "list_mandates", status="revoked"))["mandates"]
    assert [(m["id"], m["revoked_by"]) for m in revoked] == [(theirs["id"], OPERATOR)]
    one = await ok(operator, "list_mandates", principal=AGENT, limit=1)
    assert ([m["id"] for m in one["mandates"]], one["next_cursor"]) == ([mine["id"]], None)
    with pytest.raises(MCPError, match="needs role operator"):
        await agent.call_tool("list_mandates", {"principal": "key:other"})
    with pytest.raises(MCPError, match="needs role operator"):
        await agent.call_tool("create_mandate", {"principal": AGENT})
    with pytest.raises(MCPError, match="needs role operator"):
        await agent.call_tool("revoke_mandate", {"mandate_id": mine["id"]})


def mandate(**arguments: Any) -> dict[str, Any]:
    base = {"principal": AGENT, "currency": "USD", "description": "groceries", "max_total": "100.00"}
    return {**base, "expires_at": "2026-02-01T00:00:00Z", **arguments}


BAD = "invalid_argument"
CREATE_TABLE: dict[str, tuple[dict[str, Any], str]] = {
    "control-character-in-description": (mandate(description="gro\u0007ceries"), BAD),
    "nul-in-principal": (mandate(principal="key:bo\u0000t"), BAD),
    "principal-without-kind": (mandate(principal="bot"), BAD),
    "to-oneself": (mandate(principal=OPERATOR), BAD),
    "unknown-currency": (mandate(currency="XXZ"), "unknown_currency"),
    "total-is-a-number": (mandate(max_total=100), BAD),
    "total-is-zero": (mandate(max_total="0"), "invalid_amount"),
    "total-past-any-amount": (mandate(max_total="9999999999999999"), "invalid_amount"),
    "total-past-2-63": (mandate(max_total=str(2**63)), BAD),
    "total-has-too-many-decimals": (mandate(max_total="1.001"), "invalid_amount"),
    "total-in-full-width-digits": (mandate(max_total="\uff11\uff10\uff10"), "invalid_amount"),
    "per-payment-above-total": (mandate(max_per_payment="100.01"), BAD),
    "jpy-with-decimals": (mandate(currency="JPY", max_total="1.5"), "invalid_amount"),
    "unknown-period": (mandate(period="weekly"), BAD),
    "payee-is-a-payment": (mandate(allowed_payees=["pay_123"]), BAD),
    "payee-list-too-long": (mandate(allowed_payees=[f"wal_{i}" for i in range(101)]), BAD),
    "expiry-in-the-past": (mandate(expires_at="2000-01-01T00:00:00Z"), BAD),
    "expiry-without-zone": (mandate(expires_at="2026-02-01T00:00:00"), BAD),
    "expiry-past-a-year": (mandate(expires_at="2030-01-01T00:00:00Z"), BAD),
    "no-expiry": ({k: v for k, v in mandate().items() if k != "expires_at"}, BAD),
}


@pytest.mark.parametrize("case", CREATE_TABLE, ids=str)
async def test_bad_create_mandate_input_is_refused_with_a_clear_code_and_writes_nothing(
    clocked_stack: Stack, operator: Client, case: str
) -> None:
    arguments, code = CREATE_TABLE[case]
    async with row_counter(clocked_stack.settings.db_url) as count:
        before = await count()
        refused = await err(operator, "create_mandate", **arguments)
        assert await count() == before
    assert refused["code"] == code, refused
    assert "Traceback" not in refused["message"]


ID_TABLE: dict[str, tuple[str, str]] = {
    "unknown": ("mdt_doesnotexist", "mandate_not_found"),
    "another-kind-of-id": ("wal_123", BAD),
    "control-character": ("mdt_ab\u0007c", BAD),
    "too-long": ("mdt_" + "a" * 60, BAD),
}


@pytest.mark.parametrize("case", ID_TABLE, ids=str)
@pytest.mark.parametrize("tool", ["get_mandate", "revoke_mandate"])
async def test_bad_mandate_ids_are_refused_with_a_clear_code_and_write_nothing(
    clocked_stack: Stack, operator: Client, case: str, tool: str
) -> None:
    mandate_id, code = ID_TABLE[case]
    async with row_counter(clocked_stack.settings.db_url) as count:
        before = await count()
        assert (await err(operator, tool, mandate_id=mandate_id))["code"] == code
        assert await count() == before


LIST_TABLE: dict[str, dict[str, Any]] = {
    "unknown-status": {"status": "paused"},
    "limit-too-big": {"limit": 1000},
    "made-up-cursor": {"cursor": "abc.def"},
    "principal-without-kind": {"principal": "bot"},
}


@pytest.mark.parametrize("case", LIST_TABLE, ids=str)
async def test_bad_list_mandates_input_is_refused(operator: Client, case: str) -> None:
    assert (await err(operator, "list_mandates", **LIST_TABLE[case]))["code"] in {BAD, "invalid_cursor"}


async def test_a_bad_mandate_id_on_a_money_call_is_refused_before_anything_moves(
    clocked_stack: Stack, agent: Client
) -> None:
    source, destination = await funded_wallet(agent, "100.00"), await funded_wallet(agent, "0")
    for bad in ("mdt_\u0000x", "wal_123", "mdt_" + "9" * 100):
        refused = await err(
            agent,
            "transfer_funds",
            source_wallet_id=source,
            destination_wallet_id=destination,
            currency="USD",
            amount="1.00",
            mandate_id=bad,
        )
        assert refused["code"] == BAD
    assert (await ok(agent, "get_wallet", wallet_id=destination))["posted"]["amount"] == "0.00"


async def test_a_declined_charge_under_a_mandate_gives_its_amount_back(
    agent: Client, operator: Client, fake_clock: FakeClock
) -> None:
    customer = (await ok(agent, "create_customer", email="ada@example.com", name="Ada"))["customer"]["id"]
    mandate = await grant(operator, fake_clock, allowed_payees=[customer])
    charge = {"currency": "USD", "amount": "60.00", "customer_id": customer, "mandate_id": mandate["id"]}

    declined = await err(agent, "create_payment", **charge, payment_method="pm_card_chargeDeclined")
    assert declined["code"] == "card_declined"
    assert await remaining(agent, mandate["id"]) == "100.00"
    await ok(agent, "create_payment", **charge, payment_method="pm_card_visa")
    assert await remaining(agent, mandate["id"]) == "40.00"


async def test_whoami_shows_the_callers_active_mandates_with_what_is_left(
    agent: Client, operator: Client, clocked_stack: Stack, fake_clock: FakeClock
) -> None:
    source, destination = await funded_wallet(agent, "100.00"), await funded_wallet(agent, "0")
    monthly = await grant(
        operator,
        fake_clock,
        max_per_payment="25.00",
        period="monthly",
        allowed_payees=[destination],
        expires_at=in_days(fake_clock, 60),
    )
    revoked = await grant(operator, fake_clock, description="revoked")
    await ok(operator, "revoke_mandate", mandate_id=revoked["id"])
    await grant(operator, fake_clock, description="expires soon", expires_at=in_days(fake_clock, 1))
    await ok(
        operator,
        "create_mandate",
        principal="key:other",
        currency="USD",
        description="not mine",
        max_total="5.00",
        expires_at=in_days(fake_clock, 30),
    )
    assert not (await pay(agent, source, destination, "10.00", mandate_id=monthly["id"])).is_error
    fake_clock.advance(days=2)  # the third has expired

    shown = (await ok(agent, "whoami"))["mandates"]

    assert shown == [
        {
            "id": monthly["id"],
            "description": "groceries",
            "remaining": {"amount": "90.00", "amount_minor": 9000, "currency": "USD"},
            "max_per_payment": {"amount": "25.00", "amount_minor": 2500, "currency": "USD"},
            "period": "monthly",
            "resets_at": "2026-02-01T00:00:00Z",
            "expires_at": monthly["expires_at"],
            "allowed_payees": [destination],
        }
    ]
    assert (await ok(operator, "whoami"))["mandates"] == []  # the operator has none of its own
