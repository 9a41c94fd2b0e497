"""get_service_health's database, migration, job-lag and ledger-check fields, and list_alerts' three rules."""

import uuid
from decimal import Decimal
from typing import Any

import pytest

from mcp_payments.services.call_stats import CallStats
from mcp_payments.services.monitoring import IntegrityReport, MonitoringService
from tests.conftest import FakeClock, Stack
from tests.helpers import ok

pytestmark = pytest.mark.anyio


@pytest.fixture
async def agent(clocked_stack: Stack) -> Any:
    from mcp.client import Client

    async with Client(clocked_stack.server) as client:
        yield client


async def pay(client: Any, card: str, **extra: Any) -> dict[str, Any]:
    arguments = {"currency": "USD", "amount": "10.00", "payment_method": card, "idempotency_key": uuid.uuid4().hex}
    result = await client.call_tool("create_payment", {**arguments, **extra})
    return dict(result.structured_content or {})


async def test_health_shows_the_schema_the_job_lag_and_the_age_and_result_of_the_last_ledger_check(
    agent: Any, fake_clock: FakeClock
) -> None:
    health = await ok(agent, "get_service_health")
    assert health["status"] == "ok"
    assert health["schema_current"] is True
    assert health["schema_revision"] == health["expected_schema_revision"]
    assert health["database_latency_ms"] >= 0
    assert health["job_lag_seconds"] == 0
    assert health["most_lagging_job"] is None
    assert health["last_ledger_check_at"] is None
    assert health["last_ledger_check_ok"] is None

    assert (await ok(agent, "check_ledger_integrity"))["ok"]
    fake_clock.advance(seconds=90)
    health = await ok(agent, "get_service_health")
    assert health["last_ledger_check_ok"] is True
    assert health["last_ledger_check_age_seconds"] == 90


async def test_a_ledger_check_that_found_problems_leaves_health_degraded_until_a_sound_one(
    agent: Any, clocked_stack: Stack
) -> None:
    monitoring = clocked_stack.services.get(MonitoringService)
    await monitoring.record_ledger_check(IntegrityReport(False, ["transaction 7 does not sum to zero"], 1, 1, 2, {}))
    health = await ok(agent, "get_service_health")
    assert health["status"] == "degraded"
    assert health["last_ledger_check_ok"] is False
    assert "transaction 7 does not sum to zero" in health["problem"]
    assert (await ok(agent, "check_ledger_integrity"))["ok"]
    health = await ok(agent, "get_service_health")
    assert health["status"] == "ok"
    assert health["last_ledger_check_ok"] is True


async def test_a_job_whose_due_work_waits_shows_as_lag_in_health_and_as_an_alert(
    agent: Any, fake_clock: FakeClock
) -> None:
    await pay(agent, "pm_card_visa", capture_method="manual")
    fake_clock.advance(days=8)  # the authorization expired a day ago; no job ran
    health = await ok(agent, "get_service_health")
    assert health["most_lagging_job"] is not None
    assert health["job_lag_seconds"] >= 86_000
    alerts = (await ok(agent, "list_alerts"))["alerts"]
    lagging = [a for a in alerts if a["rule"] == "job_lag"]
    by_job = {a["subject"]: a for a in lagging}
    assert {"expire_payments", health["most_lagging_job"]} <= set(by_job)
    expiry = by_job["expire_payments"]
    assert expiry["severity"] == "critical"
    assert "worker" in expiry["action"]
    assert int(expiry["values"]["lag_seconds"]) >= 86_000


async def test_no_alert_when_all_is_well(agent: Any) -> None:
    body = await ok(agent, "list_alerts")
    assert body["alerts"] == []
    assert set(body["rules"]) == {"authorization_rate_drop", "job_lag", "tool_error_rate"}


@pytest.mark.parametrize(
    "settings_overrides", [{"alert_auth_min_attempts": 5, "alert_auth_rate_drop": Decimal(10)}], indirect=False
)
async def test_an_authorization_rate_far_below_its_7_day_baseline_is_an_alert_with_its_numbers(
    agent: Any, fake_clock: FakeClock
) -> None:
    for card in ["pm_card_visa"] * 4 + ["pm_card_chargeDeclined"]:  # baseline: 4 of 5 = 80%
        await pay(agent, card)
    fake_clock.advance(days=2)
    for card in ["pm_card_visa"] * 3 + ["pm_card_chargeDeclined"]:  # 4 attempts: under the minimum volume
        await pay(agent, card)
    assert not [a for a in (await ok(agent, "list_alerts"))["alerts"] if a["rule"] == "authorization_rate_drop"]
    await pay(agent, "pm_card_chargeDeclined")  # 3 of 5 = 60%: 20 points below
    await pay(agent, "pm_card_threeDSecureRequired")  # waits for the customer: counts as neither
    alerts = [a for a in (await ok(agent, "list_alerts"))["alerts"] if a["rule"] == "authorization_rate_drop"]
    assert len(alerts) == 1
    assert alerts[0]["values"] == {
        "rate_percent": "60.0",
        "baseline_rate_percent": "80.0",
        "drop_points": "20.0",
        "threshold_points": "10",
        "attempts": "5",
        "baseline_attempts": "5",
    }
    assert alerts[0]["severity"] == "critical"  # twice the threshold
    assert "60.0%" in alerts[0]["message"]
    assert "80.0%" in alerts[0]["message"]


@pytest.mark.parametrize("settings_overrides", [{"alert_error_min_calls": 10}], indirect=False)
async def test_a_tool_failing_on_the_server_side_is_an_alert_and_caller_errors_are_not(
    agent: Any, clocked_stack: Stack
) -> None:
    stats = clocked_stack.services.get(CallStats)
    for _ in range(20):
        stats.record("get_wallet", "wallet_not_found", 0.002)  # the caller's mistake: no alert
    for _ in range(8):
        stats.record("create_wallet", "ok", 0.002)
    for _ in range(2):
        stats.record("create_wallet", "internal_error", 0.002)
    await stats.flush(clocked_stack.services.calls)
    alerts = [a for a in (await ok(agent, "list_alerts"))["alerts"] if a["rule"] == "tool_error_rate"]
    assert [a["subject"] for a in alerts] == ["create_wallet"]
    assert alerts[0]["values"]["error_rate_percent"] == "20.0"
    assert alerts[0]["values"]["calls"] == "10"
    assert "internal_error 2" in alerts[0]["message"]
    clocked_stack.services.clock.base.advance(minutes=16)  # type: ignore[attr-defined]  # the FakeClock, under the sandbox clock
    assert not [a for a in (await ok(agent, "list_alerts"))["alerts"] if a["rule"] == "tool_error_rate"]
