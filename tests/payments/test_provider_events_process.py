"""The webhook endpoint of a real `mcp-payments serve --transport http` process, with secrets from the
environment: good, forged, altered, stale and rotated signatures, and nothing secret in its logs."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp.client import Client

from mcp_payments.adapters.db.engine import open_database
from tests.payments.agent import Agent
from tests.payments.card_scan import card_numbers, card_numbers_in, dump_database
from tests.payments.signed_events import (
    OLD_WEBHOOK_SECRET,
    PATH,
    SECRET_KEY,
    SIGNATURE_HEADER,
    UNKNOWN_SECRET,
    WEBHOOK_SECRET,
    event_body,
    signature,
)

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

EMAIL, NAME = "Grace.Hopper@Example.org", "Grace Brewster Hopper"


@dataclass
class Served:
    url: str
    db_url: str
    log: Path

    async def dump(self, *, settled: bool = False) -> list[str]:
        db = open_database(self.db_url)
        try:
            return await dump_database(db.reader, settled=settled)
        finally:
            await db.dispose()

    async def post(self, body: bytes, header: str | None) -> httpx2.Response:
        headers = {"Content-Type": "application/json"}
        if header is not None:
            headers[SIGNATURE_HEADER] = header
        async with httpx2.AsyncClient(base_url=self.url) as http:
            return await http.post(PATH, content=body, headers=headers)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def served(db_url: str, tmp_path: Path) -> AsyncIterator[Served]:
    """The server as a separate process, its secrets given only through the environment."""
    port = free_port()
    env = {
        **os.environ,
        "MCP_PAYMENTS_SECRET_KEY": SECRET_KEY,
        "MCP_PAYMENTS_WEBHOOK_SECRETS": f"{WEBHOOK_SECRET},{OLD_WEBHOOK_SECRET}",
        "MCP_PAYMENTS_LOG_LEVEL": "INFO",
    }
    log = tmp_path / "server.log"
    command = [sys.executable, "-m", "mcp_payments", "serve", "--transport", "http", "--port", str(port), "--no-auth"]
    with log.open("wb") as stderr:
        process = await anyio.open_process([*command, "--db", db_url], env=env, stdout=stderr, stderr=stderr)
    try:
        with anyio.fail_after(30):
            while True:
                assert process.returncode is None, log.read_text()
                try:
                    stream = await anyio.connect_tcp("127.0.0.1", port)
                except OSError:
                    await anyio.sleep(0.05)
                else:
                    await stream.aclose()
                    break
        yield Served(f"http://127.0.0.1:{port}", db_url, log)
    finally:
        if process.returncode is None:
            process.terminate()
        with anyio.fail_after(15):
            await process.wait()
        await process.aclose()


async def test_the_endpoint_accepts_only_events_signed_with_a_configured_secret_within_five_minutes(
    served: Served,
) -> None:
    async with Client(f"{served.url}/mcp") as client:
        agent = Agent(client)
        disputed, other, rotated, old_only = [(await agent.pay(f"{n}.00"))["id"] for n in (50, 60, 70, 80)]

        def dispute(payment_id: str) -> bytes:
            data = {"payment_id": payment_id, "amount": 5000, "reason": "fraudulent"}
            return event_body("charge.dispute.created", data, created=int(time.time()))

        good = dispute(disputed)
        ok = await served.post(good, signature(good, int(time.time())))
        assert (ok.status_code, ok.json()) == (200, {"received": True, "status": "processed"})
        before = await served.dump(settled=True)  # the server's sealer may seal meanwhile

        forged = dispute(other)
        bad_signature = await served.post(forged, signature(forged, int(time.time()), UNKNOWN_SECRET))
        altered = await served.post(forged.replace(b"fraudulent", b"duplicate"), signature(forged, int(time.time())))
        stale = await served.post(forged, signature(forged, int(time.time()) - 301))
        unsigned = await served.post(forged, None)
        duplicate = await served.post(good, signature(good, int(time.time())))

        for rejected in (bad_signature, altered, stale, unsigned):
            assert rejected.status_code == 400, rejected.text
            assert rejected.json()["error"]["code"] == "invalid_signature"
        assert (duplicate.status_code, duplicate.json()["status"]) == (200, "duplicate")
        assert await served.dump(settled=True) == before, "no rejected or duplicate event changed a row"

        # Rotation: the provider signs with the secret being retired (second in the environment variable),
        # alone or beside one this server does not know.
        rotation = dispute(rotated)
        both = await served.post(rotation, signature(rotation, int(time.time()), UNKNOWN_SECRET, OLD_WEBHOOK_SECRET))
        assert (both.status_code, both.json()["status"]) == (200, "processed")
        retiring = dispute(old_only)
        old = await served.post(retiring, signature(retiring, int(time.time()), OLD_WEBHOOK_SECRET))
        assert (old.status_code, old.json()["status"]) == (200, "processed")

        states = {p: (await agent.payment(p))["payment"]["disputed"] for p in (disputed, other, rotated, old_only)}
        assert states == {disputed: True, other: False, rotated: True, old_only: True}
        report = await agent.ok("check_ledger_integrity")
        assert report["ok"], report["problems"]
    assert card_numbers_in(agent.outputs) == []
    logged = [json.loads(line) for line in served.log.read_text().splitlines() if line.startswith("{")]
    rejections = [line["code"] for line in logged if line.get("event") == "provider_event_rejected"]
    assert rejections == ["invalid_signature"] * 4, "each rejection is visible to the operator"


async def test_card_numbers_and_customer_details_never_reach_the_process_logs(served: Served) -> None:
    async with Client(f"{served.url}/mcp") as client:
        agent = Agent(client)
        customer = (await agent.ok("create_customer", email=EMAIL, name=NAME))["customer"]
        for number in ("4242 4242 4242 4242", "4000-0000-0000-9995", "4000002760003184", "4242424242424241"):
            await agent.call(
                "create_payment",
                currency="USD",
                amount="12.00",
                card_number=number,
                card_exp_month=12,
                card_exp_year=2030,
                card_cvc="314",
                customer_id=customer["id"],
            )
        await agent.call("create_payment", currency="USD", amount="12.00", payment_method="pm_4242424242424242")
        found = await agent.ok("list_customers", email=EMAIL.upper())
        assert [c["id"] for c in found["customers"]] == [customer["id"]]
    stored = await served.dump()

    log = served.log.read_text()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(line.get("event") == "tool_call" and line.get("tool") == "create_payment" for line in lines), log
    assert card_numbers(log) == []
    assert EMAIL.lower() not in log.lower()
    assert NAME.lower() not in log.lower()
    assert "314" not in {str(v) for line in lines for v in line.values()}, "the CVC is not logged"
    assert card_numbers_in(agent.outputs) == []
    assert card_numbers_in(stored) == []
    assert not any("314" in row.split(" | ") for row in stored), "the CVC is not stored"
