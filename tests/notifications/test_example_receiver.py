"""examples/webhook_receiver.py, the standard-library receiver the README points to, verifies every delivery."""

import importlib.util
import threading
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import Stack
from tests.notifications.conftest import deliver, endpoint, pay
from tests.payments.agent import Agent

pytestmark = pytest.mark.anyio

EXAMPLE = Path(__file__).parents[2] / "examples" / "webhook_receiver.py"


def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("webhook_receiver", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_the_standard_library_receiver_accepts_every_delivery_and_refuses_a_forgery(
    clocked_stack: Stack, admin: Agent, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver = example()
    # Registered first with a placeholder port: the secret is needed to start the receiver.
    server = receiver.ThreadingHTTPServer(("127.0.0.1", 0), None)
    url = f"http://127.0.0.1:{server.server_address[1]}/webhooks"
    created = await endpoint(admin, url, "payment.succeeded", "refund.succeeded", "payment.failed")
    server.RequestHandlerClass = receiver.handler(created["secret"], set())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        payment = await pay(admin)
        await admin.ok("refund_payment", payment_id=payment["id"], amount="1.00")
        await admin.err("create_payment", amount="3.00", currency="USD", payment_method="pm_card_chargeDeclined")
        assert await deliver(clocked_stack) == 3
        # A forged delivery: right headers, wrong key.
        forged = receiver.verify
        with pytest.raises(receiver.Invalid):
            forged(
                "whsec_" + "A" * 44,
                {"webhook-id": "msg_1", "webhook-timestamp": "1", "webhook-signature": "v1,AA=="},
                b"{}",
            )
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    deliveries = (await admin.ok("list_webhook_deliveries"))["deliveries"]
    assert [(d["status"], d["last_status_code"]) for d in deliveries] == [("delivered", 204)] * 3
    printed = capsys.readouterr().out
    for event in ("payment.succeeded", "refund.succeeded", "payment.failed"):
        assert event in printed
    assert "refused" not in printed
