"""The AML rules through real MCP clients on both databases: movements raise flags in their own transaction, once
per triggering set, each written to the webhook outbox."""

import httpx2
import pytest

from mcp_payments.bootstrap import sweep_once
from mcp_payments.domain.roles import Role
from tests.compliance_flags.conftest import AGENT, client_as, flags, fund, table, transfer, wallet
from tests.conftest import Stack
from tests.helpers import ok
from tests.payments.signed_events import PATH, SECRET_KEY, SIGNATURE_HEADER, WEBHOOK_SECRET, event_body, signature

pytestmark = pytest.mark.anyio


async def test_three_9500_usd_transfers_in_a_day_raise_one_structuring_flag_per_wallet_and_direction(
    clocked_stack: Stack,
) -> None:
    assert clocked_stack.clock is not None
    async with client_as(clocked_stack, AGENT, Role.AGENT) as agent:
        source, destination = await wallet(agent, "operating"), await wallet(agent, "supplier")
        await fund(agent, source, "30000.00")
        moved = []
        for _ in range(3):
            clocked_stack.clock.advance(hours=3)
            moved.append((await transfer(agent, source, destination, "9500.00"))["transaction"]["id"])

        structuring = await flags(agent, rule="structuring")
        assert sorted((f["subject"], f["details"]["direction"]) for f in structuring) == sorted(
            [(source, "out"), (destination, "in")]
        )
        for flag in structuring:
            # Raised by the second transfer (19,000.00 > 10,000.00); the third is the same set growing: no new flag.
            assert flag["transaction_ids"] == moved[:2]
            assert flag["details"]["sum_usd"] == "19000.00"
            assert flag["status"] == "open"
            assert flag["principal"] == AGENT
            assert flag["id"].startswith("flg_")
        [large] = await flags(agent, rule="large_transaction")
        assert (large["subject"], large["details"]["amount_usd"]) == (source, "30000.00")
        [through] = await flags(agent, rule="rapid_pass_through")
        assert (through["subject"], through["transaction_ids"][-1]) == (source, moved[2])


async def test_movements_under_the_band_or_a_day_apart_are_not_structuring(clocked_stack: Stack) -> None:
    assert clocked_stack.clock is not None
    async with client_as(clocked_stack, AGENT, Role.AGENT) as agent:
        source, destination = await wallet(agent, "a"), await wallet(agent, "b")
        await fund(agent, source, "9999.99")
        clocked_stack.clock.advance(hours=2)
        await transfer(agent, source, destination, "7999.99")  # under 80% of the threshold
        clocked_stack.clock.advance(hours=2)
        await transfer(agent, destination, source, "7999.99")  # what arrived left again: pass-through, no more
        assert [(f["rule"], f["subject"]) for f in await flags(agent)] == [("rapid_pass_through", destination)]
        await transfer(agent, source, destination, "8000.00")
        clocked_stack.clock.advance(hours=25)
        await fund(agent, source, "7000.00")
        await transfer(agent, source, destination, "8000.00")  # 8,000.00 twice, a day apart
        assert await flags(agent, rule="structuring") == []


async def test_a_movement_in_another_currency_counts_at_the_configured_rate(clocked_stack: Stack) -> None:
    async with client_as(clocked_stack, AGENT, Role.AGENT) as agent:
        eur = await wallet(agent, "eur", "EUR")
        await fund(agent, eur, "9000.00", "EUR")  # 9,900.00 USD at 1.10: not large
        assert await flags(agent) == []
        await fund(agent, eur, "8000.00", "EUR")  # 8,800.00 USD: with the first, 18,700.00 USD just under it
        [structuring] = await flags(agent, rule="structuring")
        assert structuring["details"]["sum_usd"] == "18700.00"
        await fund(agent, eur, "9100.00", "EUR")  # 10,010.00 USD: large
        [large] = await flags(agent, rule="large_transaction")
        assert large["details"]["amount_usd"] == "10010.00"


async def test_velocity_counts_movements_of_a_wallet_within_the_window(clocked_stack: Stack) -> None:
    assert clocked_stack.clock is not None
    async with client_as(clocked_stack, AGENT, Role.AGENT) as agent:
        busy = await wallet(agent, "busy")
        for cents in range(3):  # amounts differ: the same call within a minute would be a deduplicated retry
            await fund(agent, busy, f"1.0{cents}")
        assert await flags(agent, rule="velocity_count") == []
        await fund(agent, busy, "1.03")  # the 4th within the hour: more than 3
        [velocity] = await flags(agent, rule="velocity_count")
        assert (velocity["subject"], velocity["details"]) == (busy, {"count": 4, "limit": 3})
        await fund(agent, busy, "1.04")  # still over: the same crossing, no new flag
        clocked_stack.clock.advance(hours=2)
        await fund(agent, busy, "1.00")
        assert len(await flags(agent, rule="velocity_count")) == 1
        await fund(agent, busy, "60000.00")
        [amount] = await flags(agent, rule="velocity_amount")
        assert amount["details"]["sum_usd"] == "60001.00"


async def test_each_flag_is_written_to_the_webhook_outbox_with_its_movement(clocked_stack: Stack) -> None:
    async with client_as(clocked_stack, "key:admin", Role.ADMIN) as admin:
        await admin.call_tool(
            "create_webhook_endpoint",
            {"url": "http://127.0.0.1:9/hook", "event_types": ["compliance.flag.created"]},
        )
        big = await wallet(admin, "big")
        await fund(admin, big, "25000.00")
        [flag] = await flags(admin)
    events = [e for e in await table(clocked_stack, "webhook_events") if e["type"] == "compliance.flag.created"]
    assert len(events) == 1
    assert flag["id"] in events[0]["body"]
    assert len(await table(clocked_stack, "webhook_deliveries")) == 1


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    from decimal import Decimal

    return {
        "fx_rates": {"EUR/USD": Decimal("1.10")},
        "aml_velocity_count": 3,
        "webhooks_allow_loopback": True,
    }


async def test_velocity_counts_a_customers_payments_within_the_window(clocked_stack: Stack) -> None:
    async with client_as(clocked_stack, AGENT, Role.AGENT) as agent:
        customer = (await ok(agent, "create_customer", email="pat@example.com"))["customer"]["id"]
        for cents in range(4):  # amounts differ: the same call within a minute would be a deduplicated retry
            await ok(
                agent,
                "create_payment",
                amount=f"5.0{cents}",
                currency="USD",
                payment_method="pm_card_visa",
                customer_id=customer,
            )
        [velocity] = await flags(agent, rule="velocity_count")
        assert (velocity["subject"], velocity["details"]) == (customer, {"count": 4, "limit": 3})


async def test_a_movement_that_fails_raises_no_flag(clocked_stack: Stack) -> None:
    async with client_as(clocked_stack, AGENT, Role.AGENT) as agent:
        source, destination = await wallet(agent, "a"), await wallet(agent, "b")
        await fund(agent, source, "100.00")
        refused = await agent.call_tool(
            "transfer_funds",
            {"source_wallet_id": source, "destination_wallet_id": destination, "currency": "USD", "amount": "12000"},
        )
        assert refused.is_error
        assert await flags(agent) == []
        assert await table(clocked_stack, "compliance_flags") == []


async def test_a_subscription_renewal_charged_in_the_background_is_checked_by_the_rules_as_the_system(
    clocked_stack: Stack,
) -> None:
    assert clocked_stack.clock is not None
    async with client_as(clocked_stack, AGENT, Role.AGENT) as agent:
        customer = (await ok(agent, "create_customer", email="big@example.com"))["customer"]["id"]
        plan = await ok(agent, "create_plan", name="Fleet", currency="USD", amount="12000.00", interval="month")
        subscribed = await ok(
            agent,
            "create_subscription",
            customer_id=customer,
            plan_id=plan["plan"]["id"],
            payment_method="pm_card_visa",
        )
        [first] = await flags(agent, rule="large_transaction")  # the first invoice, charged by the agent's call
        assert (first["subject"], first["principal"]) == (customer, AGENT)

        clocked_stack.clock.advance(days=32)
        while await sweep_once(clocked_stack.services):  # the renewal, in the background
            pass
        invoices = (await ok(agent, "list_invoices", subscription_id=subscribed["subscription"]["id"]))["invoices"]
        renewal = next(i["payment_id"] for i in invoices if i["payment_id"] != first["transaction_ids"][0])
        large = await flags(agent, rule="large_transaction")
        [by_system] = [f for f in large if f["principal"] == "system"]
        assert (by_system["subject"], by_system["transaction_ids"]) == (customer, [renewal])
        assert by_system["details"]["amount_usd"] == "12000.00"
        assert len(large) == 2


@pytest.mark.parametrize("settings_overrides", [{"secret_key": SECRET_KEY, "webhook_secrets": (WEBHOOK_SECRET,)}])
@pytest.mark.parametrize("path", ["on-arrival", "by-the-retry-job"])
async def test_a_provider_event_that_moves_a_large_amount_is_checked_by_the_rules_as_the_system(
    clocked_stack: Stack, path: str
) -> None:
    """A dispute of a 12,000.00 USD payment takes 12,000.00 back between system accounts, in the background: on
    arrival (POST /provider/events), or by the retry_provider_events job when it came before the capture."""
    clock = clocked_stack.clock
    assert clock is not None
    transport = httpx2.ASGITransport(app=clocked_stack.server.streamable_http_app())
    async with (
        client_as(clocked_stack, AGENT, Role.AGENT) as agent,
        httpx2.AsyncClient(transport=transport, base_url="http://payments.test") as provider,
    ):
        customer = (await ok(agent, "create_customer", email="big@example.com"))["customer"]["id"]
        capture = "manual" if path == "by-the-retry-job" else "automatic"
        arguments = {"currency": "USD", "amount": "12000.00", "payment_method": "pm_card_visa"}
        made = await ok(agent, "create_payment", customer_id=customer, capture_method=capture, **arguments)
        payment_id = made["payment"]["id"]

        body = event_body("charge.dispute.created", {"payment_id": payment_id}, created=int(clock.now().timestamp()))
        headers = {SIGNATURE_HEADER: signature(body, int(clock.now().timestamp()))}
        if path == "by-the-retry-job":
            response = await provider.post(PATH, content=body, headers=headers)
            assert response.json() == {"received": True, "status": "pending"}  # not captured yet
            await ok(agent, "capture_payment", payment_id=payment_id)
            clock.advance(minutes=5)
            while await sweep_once(clocked_stack.services):
                pass
        else:
            response = await provider.post(PATH, content=body, headers=headers)
            assert response.json() == {"received": True, "status": "processed"}

        ledger = (await ok(agent, "get_payment", payment_id=payment_id))["ledger"]
        [disputed] = [t["id"] for t in ledger if t["kind"] == "dispute"]
        large = await flags(agent, rule="large_transaction")
        [by_system] = [f for f in large if f["principal"] == "system"]
        assert (by_system["subject"], by_system["transaction_ids"]) == (customer, [disputed])
        assert by_system["details"]["amount_usd"] == "12000.00"
        [by_agent] = [f for f in large if f["principal"] == AGENT]  # the payment itself, when the agent made it
        assert by_agent["transaction_ids"] == [payment_id]
        assert len(large) == 2
