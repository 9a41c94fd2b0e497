"""The MCP Apps views in a real browser: headless Chromium loads each view in a sandboxed iframe of the test host
page (host.html), which speaks the host side of the protocol and carries the views' tool calls to a real server over
streamable HTTP, with the API key of a real role. Each test writes its views' screenshots, light and dark."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client import Client

from mcp_payments.bootstrap import application
from mcp_payments.config import Settings
from mcp_payments.domain.roles import Role
from mcp_payments.server.views import APPROVAL, DASHBOARD, PAYMENT, WALLET
from mcp_payments.services.keys import KeyService
from tests.apps.harness import Page, hosted
from tests.conftest import TEST_SECRETS
from tests.e2e.processes import network_server, with_token
from tests.e2e.test_cli import cli
from tests.helpers import ok

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

ROLES = ("viewer", "agent", "operator", "admin")
HISTORY_END = "2026-11-01"  # the demo history: two months before this day
RANGE = ("2026-09-01", "2026-10-31")
NARROW = ("2026-10-05", "2026-10-18")


async def issue_keys(db_url: str) -> dict[str, str]:
    """An API key per role, named <role>-bot, issued as `mcp-payments keys create` does (in this process: faster)."""
    async with application(Settings(db_url=db_url, **TEST_SECRETS)) as (_, _, services):
        keys = services.get(KeyService)
        return {role: (await keys.issue("cli:tests", f"{role}-bot", Role(role))).text for role in ROLES}


@asynccontextmanager
async def deployment(db_url: str, tmp_path: Path) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """`serve --transport http` on the database (no background jobs: they would change what the test compares) and
    an API key per role; yields the server's base URL and the keys."""
    keys = await issue_keys(db_url)
    async with network_server("http", db_url, tmp_path, "--no-background") as base:
        yield base, keys


@asynccontextmanager
async def client_as(base: str, key: str) -> AsyncIterator[Client]:
    async with with_token("http", base, key) as transport, Client(transport) as client:
        yield client


async def threshold_and_wallets(base: str, keys: dict[str, str]) -> dict[str, str]:
    """An approval threshold of 50.00 USD for the agent (set by the admin), and two USD wallets of the agent's, the
    first funded with 100.00: the arguments of a 60.00 USD transfer between them."""
    async with client_as(base, keys["admin"]) as admin:
        policy = {"principal": "key:agent-bot", "currency": "USD", "approval_above": "50.00"}
        await ok(admin, "set_spending_policy", **policy)
    async with client_as(base, keys["agent"]) as agent:
        source = (await ok(agent, "create_wallet", currency="USD", name="operating"))["wallet"]["id"]
        rent = (await ok(agent, "create_wallet", currency="USD", name="rent"))["wallet"]["id"]
        await ok(agent, "fund_wallet", wallet_id=source, currency="USD", amount="100.00")
    return {"source_wallet_id": source, "destination_wallet_id": rent, "currency": "USD", "amount": "60.00"}


async def held_transfer(base: str, keys: dict[str, str]) -> None:
    """The agent's 60.00 USD transfer, held for approval above 50.00 USD."""
    move = await threshold_and_wallets(base, keys)
    async with client_as(base, keys["agent"]) as agent:
        held = await ok(agent, "transfer_funds", **move, idempotency_key="rent-october")
    assert held["status"] == "pending_approval"


async def wallet_totals(base: str, keys: dict[str, str]) -> dict[str, str]:
    """Every wallet's available balance added up per currency, from list_wallets, as the dashboard shows it."""
    totals: dict[str, Decimal] = {}
    async with client_as(base, keys["viewer"]) as client:
        for w in (await ok(client, "list_wallets", limit=100))["wallets"]:
            totals[w["currency"]] = totals.get(w["currency"], Decimal(0)) + Decimal(w["available"]["amount"])
    return {f"wallets.{currency}.available": f"{total} {currency}" for currency, total in totals.items()}


def percent(rate: str | None) -> Decimal | str:
    """A rate (a fraction, as the tools give it) in percent: compared as a number, so 90.5400 is 90.54."""
    return "n/a" if rate is None else Decimal(rate) * 100


def shown_percent(text: str) -> Decimal | str:
    return text if text == "n/a" else Decimal(text.removesuffix(" %"))


def expected(revenue: dict[str, Any], rates: dict[str, Any], mrr: dict[str, Any]) -> dict[str, str | Decimal]:
    """What the dashboard must show, by its data-k keys, from the analytics tools' answers."""
    out: dict[str, str | Decimal] = {}
    for c in revenue["currencies"]:
        for field in ("net", "gross", "payments", "refunds", "disputes", "fees"):
            out[f"revenue.{c['currency']}.{field}"] = str(c["total"][field])
    out["auth.rate"] = percent(rates["overall"]["authorization_rate"])
    out["auth.approved"] = str(rates["overall"]["approved"])
    out["auth.declined"] = str(rates["overall"]["declined"])
    for d in rates["top_decline_codes"]:
        out[f"declines.{d['code']}"] = str(d["count"])
    for c in mrr["currencies"]:
        cur = c["currency"]
        for field, key in (("mrr_end", "end"), ("mrr_start", "start"), ("new", "new"), ("expansion", "expansion")):
            out[f"mrr.{cur}.{key}"] = c[field]
        for field in ("reactivation", "contraction", "churn"):
            out[f"mrr.{cur}.{field}"] = c[field]
        out[f"mrr.{cur}.active"] = str(c["active_subscriptions_end"])
    return out


def analytics_keys(shown: dict[str, str]) -> dict[str, str | Decimal]:
    found: dict[str, str | Decimal] = {
        k: v for k, v in shown.items() if k.split(".")[0] in {"revenue", "auth", "declines", "mrr"}
    }
    if "auth.rate" in found:
        found["auth.rate"] = shown_percent(found["auth.rate"])
    return found


async def tool_answers(base: str, key: str, start: str, end: str) -> dict[str, str | Decimal]:
    window = {"start_date": start, "end_date": end}
    async with client_as(base, key) as client:
        revenue = await ok(client, "get_revenue_summary", **window, granularity="day")
        rates = await ok(client, "get_payment_success_rates", **window, top=5)
        mrr = await ok(client, "get_subscription_metrics", **window)
    return expected(revenue, rates, mrr)


async def test_the_dashboard_shows_the_numbers_the_analytics_tools_return_for_its_range(
    db_url: str, tmp_path: Path, browser: Any, screenshots: Path, backend: str
) -> None:
    seeded = await cli(
        tmp_path, "demo-data", "--payments", "300", "--months", "2", "--end", HISTORY_END, "--seed", "7", "--db", db_url
    )
    assert seeded.returncode == 0, seeded.stderr.decode()
    with anyio.fail_after(240):
        async with deployment(db_url, tmp_path) as (base, keys), hosted(base, keys) as host:
            await held_transfer(base, keys)
            page = Page(browser, host)
            wanted = await tool_answers(base, keys["viewer"], *RANGE)
            window = {"start_date": RANGE[0], "end_date": RANGE[1]}
            await page.open(DASHBOARD, "open_dashboard", window, role="operator")
            await page.expect("/".join(RANGE))
            shown = await page.values()
            assert analytics_keys(shown) == wanted
            assert any(k.startswith("revenue.") for k in wanted)
            assert any(k.startswith("mrr.") for k in wanted)
            assert any(k.startswith("declines.") for k in wanted)
            assert shown["approvals.count"] == "1"  # an operator sees everyone's
            assert {k: v for k, v in shown.items() if k.startswith("wallets.")} == await wallet_totals(base, keys)
            await page.screenshot(screenshots / f"dashboard-light-{backend}.png")

            # The date control refetches through the app-only dashboard_summary: the same numbers as the tools.
            await page.script(
                "document.getElementById('start').value = arguments[0];"
                "document.getElementById('end').value = arguments[1];"
                "document.getElementById('apply').click();",
                *NARROW,
            )
            await page.expect("/".join(NARROW), not_state="/".join(RANGE))
            assert analytics_keys(await page.values()) == await tool_answers(base, keys["viewer"], *NARROW)
            assert await page.console_problems() == []

            await page.open(DASHBOARD, "open_dashboard", window, role="operator", theme="dark")
            await page.ready()
            await page.screenshot(screenshots / f"dashboard-dark-{backend}.png")
            # Readable at 360 px: nothing wider than the frame, so nothing needs a sideways scroll.
            await page.open(DASHBOARD, "open_dashboard", window, role="viewer", width=360)
            await page.ready()
            assert (await page.values())["approvals.count"] == "0"  # a viewer sees only its own: none
            assert await page.script("return document.documentElement.scrollWidth") <= 360
            await page.screenshot(screenshots / f"dashboard-360-{backend}.png")
            assert await page.console_problems() == []


async def test_an_approval_is_decided_once_from_its_card_a_viewers_or_the_requesters_click_is_refused_and_reject_holds(
    db_url: str, tmp_path: Path, browser: Any, screenshots: Path, backend: str
) -> None:
    with anyio.fail_after(240):
        async with deployment(db_url, tmp_path) as (base, keys), hosted(base, keys) as host:
            move = await threshold_and_wallets(base, keys)
            source, rent = move["source_wallet_id"], move["destination_wallet_id"]
            page = Page(browser, host)

            # The agent's held call shows its card; the agent's own Approve is refused (an operator must decide).
            await page.open(APPROVAL, "transfer_funds", move | {"idempotency_key": "rent-october"}, role="agent")
            await page.expect("pending")
            approval_id = await page.script("return document.querySelector('[data-approval]').dataset.approval")
            await page.screenshot(screenshots / f"approval-light-{backend}.png")
            await page.click("#approve")
            await page.expect("refused", not_state="pending")
            assert "needs role operator" in (await page.values())["refused"]

            # A viewer's host shows the card too (visibility is no boundary); the server refuses the click.
            card = {"approval_id": approval_id}
            await page.open(APPROVAL, "get_approval", card, role="viewer", first_role="operator", theme="dark")
            await page.expect("pending")
            await page.screenshot(screenshots / f"approval-dark-{backend}.png")
            await page.click("#approve")
            await page.expect("refused", not_state="pending")
            assert "needs role operator" in (await page.values())["refused"]

            # The operator: two cards of the same approval (two chat windows), Approve clicked twice in one and
            # once in the other. The call runs once.
            await page.open(APPROVAL, "get_approval", card, role="operator", frames=2)
            await page.expect("pending", 0)
            await page.expect("pending", 1)
            await page.script("const b = document.getElementById('approve'); b.click(); b.click();", frame=0)
            await page.click("#approve", frame=1)
            await page.expect("executed", 0, not_state="pending")
            await page.expect("executed", 1, not_state="pending")
            assert (await page.values(1))["decided_by"].startswith("key:operator-bot")
            await page.screenshot(screenshots / f"approval-decided-light-{backend}.png", frame=0)
            await page.open(APPROVAL, "get_approval", card, role="operator", width=360)
            await page.expect("executed")
            assert await page.script("return document.documentElement.scrollWidth") <= 360

            # Reject, with a reason, from the card of another held call: it never runs.
            async with client_as(base, keys["agent"]) as agent:
                again = await ok(agent, "transfer_funds", **move | {"amount": "55.00"}, idempotency_key="rent-november")
            await page.open(APPROVAL, "get_approval", {"approval_id": again["approval_id"]}, role="operator")
            await page.expect("pending")
            await page.script("document.getElementById('reason').value = 'not this month';")
            await page.click("#reject")
            await page.expect("rejected", not_state="pending")
            assert await page.console_problems() == []

            async with client_as(base, keys["operator"]) as operator:
                decided = await ok(operator, "get_approval", approval_id=approval_id)
                rejected = await ok(operator, "get_approval", approval_id=again["approval_id"])
                balances = [(await ok(operator, "get_wallet", wallet_id=w))["posted"]["amount"] for w in (source, rent)]
                lines = (await ok(operator, "get_wallet_statement", wallet_id=rent))["lines"]
    assert decided["status"] == "executed"
    assert decided["decided_by"] == "key:operator-bot"
    assert (rejected["status"], rejected["reason"]) == ("rejected", "not this month")
    assert balances == ["40.00", "60.00"]
    assert len(lines) == 1


async def test_the_payment_timeline_and_the_wallet_view_show_the_tools_answers_and_the_statement_pages(
    db_url: str, tmp_path: Path, browser: Any, screenshots: Path, backend: str
) -> None:
    with anyio.fail_after(240):
        async with deployment(db_url, tmp_path) as (base, keys), hosted(base, keys) as host:
            async with client_as(base, keys["agent"]) as agent:
                paid = await ok(
                    agent,
                    "create_payment",
                    currency="EUR",
                    amount="42.50",
                    payment_method="pm_card_visa",
                    description="Order 1042",
                )
                payment = paid["payment"]["id"]
                await ok(agent, "refund_payment", payment_id=payment, amount="12.50", reason="requested_by_customer")
                wallet = (await ok(agent, "create_wallet", currency="EUR", name="Payouts"))["wallet"]["id"]
                for n in range(13):
                    await ok(
                        agent,
                        "fund_wallet",
                        wallet_id=wallet,
                        currency="EUR",
                        amount=f"{n + 1}.00",
                        memo=f"top-up {n + 1}",
                    )
                view = await ok(agent, "get_payment", payment_id=payment)
                balances = await ok(agent, "get_wallet", wallet_id=wallet)
            page = Page(browser, host)

            for theme, width in (("light", 720), ("dark", 720), ("light", 360)):
                await page.open(
                    PAYMENT, "get_payment", {"payment_id": payment}, role="viewer", theme=theme, width=width
                )
                await page.expect(payment)
                await page.screenshot(screenshots / f"payment-{theme}-{width}-{backend}.png")
                assert await page.script("return document.documentElement.scrollWidth") <= width
            shown = await page.values()
            kinds = await page.script("return [...document.querySelectorAll('#timeline li')].map(l => l.dataset.kind)")
            assert (shown["amount"], shown["status"], shown["refunded"]) == ("42.50 EUR", "succeeded", "12.50 EUR")
            events = len(view["attempts"]) + len(view["events"]) + len(view["refunds"]) + len(view["ledger"])
            assert len(kinds) == events > 0
            assert "refund succeeded" in kinds
            assert any(k.startswith("ledger: ") for k in kinds)

            for theme, width in (("dark", 360), ("light", 720), ("dark", 720)):
                await page.open(WALLET, "get_wallet", {"wallet_id": wallet}, role="viewer", theme=theme, width=width)
                await page.expect("page-1")
                await page.screenshot(screenshots / f"wallet-{theme}-{width}-{backend}.png")
                assert await page.script("return document.documentElement.scrollWidth") <= width
            shown = await page.values()
            assert (shown["available"], shown["posted"], shown["pending"]) == (
                balances["available"]["amount"],
                balances["posted"]["amount"],
                balances["pending"]["amount"],
            )
            first = await page.script("return document.querySelectorAll('tr[data-entry]').length")
            await page.click("#older")
            await page.expect("page-2", not_state="page-1")
            second = await page.script("return document.querySelectorAll('tr[data-entry]').length")
            assert (first, second) == (10, 3)
            await page.click("#newer")
            await page.expect("page-1", not_state="page-2")
            assert await page.console_problems() == []
