"""Two workers on one database: each delivery is attempted once per step of its schedule."""

from collections import Counter

import anyio
import pytest

from mcp_payments.bootstrap import application
from mcp_payments.domain.webhooks import JITTER, SCHEDULE
from mcp_payments.services.job_runner import JobRunner
from mcp_payments.services.notifications.delivery import WebhookSender
from tests.conftest import Stack
from tests.notifications.conftest import clock_of, endpoint, pay
from tests.notifications.receiver import receiving
from tests.payments.agent import Agent

pytestmark = pytest.mark.anyio

EVENTS = 4


async def test_two_workers_attempt_each_delivery_once_per_step_of_the_schedule(
    clocked_stack: Stack, admin: Agent
) -> None:
    clock = clock_of(clocked_stack)
    async with application(clocked_stack.settings, clock=clock) as (_, _, other):
        workers = [clocked_stack.services, other]

        async def sweep() -> None:
            async with anyio.create_task_group() as tg:
                for services in workers:
                    for _ in range(2):  # each worker runs the job twice over, as overlapping passes would
                        tg.start_soon(services.get(JobRunner).run, services.get(WebhookSender).job())

        with receiving() as receiver:
            await endpoint(admin, receiver.url)
            for n in range(EVENTS):
                await pay(admin, f"{10 + n}.00")
            receiver.status, receiver.delay = 503, 0.05  # down, and slow enough for the workers to overlap
            steps = 4
            for step in range(steps):
                if step:
                    clock.advance(seconds=SCHEDULE[step].total_seconds() * (1 + JITTER) + 1)
                with anyio.fail_after(60):
                    await sweep()
                per_event = Counter(r.webhook_id for r in receiver.all())
                assert sorted(per_event.values()) == [step + 1] * EVENTS, f"step {step + 1}: {per_event}"
    deliveries = (await admin.ok("list_webhook_deliveries"))["deliveries"]
    assert [d["attempts"] for d in deliveries] == [steps] * EVENTS
