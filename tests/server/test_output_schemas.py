"""Every tool answers at least once successfully, and each answer validates against its outputSchema."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import jsonschema
import pytest
from mcp.client import Client
from mcp.types import Tool

from mcp_payments.bootstrap import sweep_once
from mcp_payments.domain.limits import Policy
from mcp_payments.domain.mandates import Mandate, Period
from mcp_payments.server.callers import local_principal
from mcp_payments.services.controls import SpendingControls
from mcp_payments.services.mandates import Mandates
from mcp_payments.services.ports import UnitOfWork
from tests.conftest import Stack

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"fx_rates": {"EUR/USD": Decimal("1.08")}}


class Caller:
    """Calls tools through the client, checking each result against the tool's published outputSchema."""

    def __init__(self, client: Client, tools: dict[str, Tool]) -> None:
        self.client = client
        self.tools = tools
        self.answered: set[str] = set()

    async def __call__(self, tool: str, **arguments: Any) -> dict[str, Any]:
        # The client itself refuses structured content that does not match the schema (RuntimeError).
        result = await self.client.call_tool(tool, arguments)
        assert not result.is_error, f"{tool} failed: {result.content}"
        schema = self.tools[tool].output_schema
        assert schema is not None, f"{tool} publishes no outputSchema"
        assert result.structured_content is not None
        jsonschema.validate(result.structured_content, schema)
        self.answered.add(tool)
        return dict(result.structured_content)


async def test_every_tool_answers_with_structured_content_that_matches_its_output_schema(
    client: Client, stack: Stack
) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    call = Caller(client, tools)

    await call("get_service_health")
    customer = (await call("create_customer", email="ada@example.com", name="Ada"))["customer"]["id"]
    await call("get_customer", customer_id=customer)
    await call("list_customers", email="ada@example.com")

    paid = await call(
        "create_payment", currency="USD", amount="120.00", payment_method="pm_card_visa", customer_id=customer
    )
    payment = paid["payment"]["id"]
    await call("refund_payment", payment_id=payment, amount="20.00", reason="requested_by_customer")
    await call("get_payment", payment_id=payment)
    await call("list_payments", status="succeeded")
    authorized = await call(
        "create_payment", currency="USD", amount="30.00", payment_method="pm_card_visa", capture_method="manual"
    )
    await call("capture_payment", payment_id=authorized["payment"]["id"], amount="10.00")
    doomed = await call(
        "create_payment", currency="USD", amount="5.00", payment_method="pm_card_visa", capture_method="manual"
    )
    await call("cancel_payment", payment_id=doomed["payment"]["id"])
    challenged = await call(
        "create_payment", currency="USD", amount="7.00", payment_method="pm_card_threeDSecureRequired"
    )
    assert challenged["payment"]["status"] == "requires_action"
    await call("confirm_payment", payment_id=challenged["payment"]["id"])

    usd = (await call("create_wallet", currency="USD", name="usd"))["wallet"]["id"]
    eur = (await call("create_wallet", currency="EUR", name="eur"))["wallet"]["id"]
    await call("fund_wallet", wallet_id=usd, currency="USD", amount="100.00", idempotency_key="schema-fund-1")
    await call("fund_wallet", wallet_id=usd, payment_id=payment, amount="10.00")
    await call("withdraw_from_wallet", wallet_id=usd, currency="USD", amount_minor=500)
    await call("get_fx_quote", source_currency="EUR", target_currency="USD", amount="10.00")
    await call("transfer_funds", source_wallet_id=usd, destination_wallet_id=eur, currency="USD", amount="10.80")
    held = await call("hold_funds", wallet_id=usd, currency="USD", amount="20.00", memo="deposit")
    await call("capture_hold", hold_id=held["hold"]["id"], amount="5.00")
    released = await call("hold_funds", wallet_id=usd, currency="USD", amount="1.00", expires_in_seconds=600)
    await call("release_hold", hold_id=released["hold"]["id"])
    await call("get_wallet", wallet_id=eur)
    await call("list_wallets", limit=1)
    await call("get_wallet_statement", wallet_id=usd)
    await call("wallet_statement_page", wallet_id=usd, limit=2)

    plan = (await call("create_plan", name="Pro", currency="USD", amount="9.00", interval="month"))["plan"]["id"]
    await call("list_plans")
    subscribed = await call(
        "create_subscription", customer_id=customer, plan_id=plan, payment_method="pm_card_chargeDeclined"
    )
    await call("get_subscription", subscription_id=subscribed["subscription"]["id"])
    await call("list_subscriptions", customer_id=customer)
    await call("pay_invoice", invoice_id=subscribed["invoice"]["id"])
    await call("get_invoice", invoice_id=subscribed["invoice"]["id"])
    await call("list_invoices", subscription_id=subscribed["subscription"]["id"])
    renewing = await call("create_subscription", customer_id=customer, plan_id=plan, payment_method="pm_card_visa")
    await call("cancel_subscription", subscription_id=renewing["subscription"]["id"], at_period_end=True)
    await call("resume_subscription", subscription_id=renewing["subscription"]["id"])
    await call("preview_upcoming_invoice", subscription_id=renewing["subscription"]["id"])
    other = (await call("create_plan", name="Max", currency="USD", amount="19.00", interval="month"))["plan"]["id"]
    await call("change_subscription_plan", subscription_id=renewing["subscription"]["id"], plan_id=other)
    await call(
        "update_subscription", subscription_id=renewing["subscription"]["id"], default_payment_method="pm_card_visa"
    )
    await call("pause_subscription", subscription_id=renewing["subscription"]["id"], collection="keep_as_draft")

    await call("get_revenue_summary", granularity="month", target_currency="EUR", rates={"USD": "0.92"}, chart=True)
    await call("get_payment_success_rates", chart=True)
    await call("get_customer_insights", chart=True)
    await call("get_subscription_metrics", chart=True)
    await call("open_dashboard")
    await call("dashboard_summary", start_date="2026-01-01", end_date="2026-06-30")
    await call("forecast_revenue", currency="USD", granularity="day", method="linear", chart=True)

    await call("screen_party", name="Ignatius Zorvak", type="person", country="IS", date_of_birth="1960-01-12")
    await call("assess_payment_risk", currency="USD", amount="10.00", payment_method="pm_card_gb", customer_id=customer)
    await call("list_fraud_alerts")
    await call("list_compliance_flags", rule="large_transaction")
    # The webhook writes need an admin (tests/notifications drive them); an agent reads them.
    await call("list_webhook_endpoints")
    await call("list_webhook_deliveries")

    integrity = await call("check_ledger_integrity")
    assert integrity["ok"], integrity
    await call("get_audit_log", limit=5)
    chain = await call("verify_audit_chain")
    assert chain["valid"]
    await sweep_once(stack.services)
    jobs = await call("list_background_jobs")
    assert all(job["last_run"] is not None for job in jobs["jobs"])
    assert (await call("get_tool_metrics", window_minutes=15))["calls"] > 0
    assert (await call("list_alerts"))["rules"]
    controls = stack.services.get(SpendingControls)
    policy = Policy(
        local_principal(), "USD", daily=100_00, velocity=5, allowed_payees=frozenset({"external"}), approval_above=1_00
    )
    await stack.services.calls.write(lambda uow: controls.put_policy(uow, policy, "cli:test"))
    assert (await call("whoami"))["spending"]
    assert (await call("get_spending_policy"))["budgets"]
    # A held call answers in its tool's output schema too (its result or a pending approval).
    pending = await call("withdraw_from_wallet", wallet_id=usd, currency="USD", amount="2.00")
    assert pending["status"] == "pending_approval"
    assert (await call("list_pending_approvals"))["approvals"]
    await call("get_approval", approval_id=pending["approval_id"])
    mandates = stack.services.get(Mandates)
    expiry = datetime.now(UTC) + timedelta(days=7)

    async def granted(uow: UnitOfWork) -> Mandate:
        return await mandates.grant(
            uow,
            principal=local_principal(),
            currency="USD",
            description="books",
            max_per_payment=None,
            max_total=50_00,
            period=Period.DAILY,
            expires_at=expiry,
            allowed_payees=None,
            by="cli:test",
        )

    mandate = await stack.services.calls.write(granted)
    assert (await call("list_mandates"))["mandates"]
    assert (await call("get_mandate", mandate_id=mandate.id))["remaining"]["amount"] == "50.00"

    assert call.answered == set(tools), f"add a successful call of: {sorted(set(tools) - call.answered)}"
