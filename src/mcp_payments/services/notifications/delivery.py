"""Delivering webhooks: the deliver_webhooks job.

A step of the job claims one due delivery (locked; PostgreSQL skips rows another worker holds) and leases it in
that transaction: its attempt is counted and it is not due again for LEASE. Only after that commits is the request
sent (`send`, outside any transaction: a slow receiver holds no lock, and SQLite's one writer is never held for a
network call), and its outcome is written in a transaction of its own. So two workers never send the same attempt,
and a worker that dies mid-send leaves a delivery that is due again when its lease ends (that attempt counted).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import structlog

from mcp_payments.domain.webhooks import TIMEOUT_SECONDS, DeliveryStatus, EndpointStatus, Reach, next_attempt, signature
from mcp_payments.services.calls import CallRunner
from mcp_payments.services.jobs import Job
from mcp_payments.services.notifications.ports import WEBHOOKS, Due, Endpoint, Response, SecretBox, Transport
from mcp_payments.services.ports import Claim, Clock, UnitOfWork

log = structlog.get_logger("mcp_payments.webhooks")
LEASE = timedelta(seconds=4 * TIMEOUT_SECONDS)  # longer than any attempt takes
GONE = 410


def wall_clock() -> datetime:
    return datetime.now(UTC)


class WebhookSender:
    def __init__(
        self,
        clock: Clock,
        calls: CallRunner,
        box: SecretBox,
        transport: Transport,
        reach: Reach,
        disable_after: timedelta,
        *,
        rng: random.Random | None = None,
        stamp: Callable[[], datetime] = wall_clock,
    ) -> None:
        self.clock = clock
        self.calls = calls
        self.box = box
        self.transport = transport
        self.reach = reach
        self.disable_after = disable_after
        self.rng = rng or random.Random()  # noqa: S311  # jitter, not a secret
        # webhook-timestamp is judged by the receiver against its own clock (a replay window of minutes): it is
        # the real time, not the injected clock, which the sandbox can move by a year.
        self.stamp = stamp

    def job(self) -> Job[Due]:
        return Job(
            "deliver_webhooks", self.claim, self.lease, lambda due: due.delivery.id, self.oldest, after=self.send
        )

    @staticmethod
    async def claim(uow: UnitOfWork, claim: Claim) -> list[Due]:
        return await uow.repo(WEBHOOKS).claim_due(claim)

    @staticmethod
    async def oldest(uow: UnitOfWork, claim: Claim) -> datetime | None:
        return await uow.repo(WEBHOOKS).oldest_due(claim)

    async def lease(self, uow: UnitOfWork, due: Due) -> list[str]:
        now = self.clock.now()
        d = due.delivery
        leased = replace(d, attempts=d.attempts + 1, next_attempt_at=now + LEASE, last_attempt_at=now, updated_at=now)
        await uow.repo(WEBHOOKS).update_delivery(leased)
        return [d.id]

    async def send(self, leased: Sequence[Due]) -> None:
        """Send each leased delivery, then record what came of it."""
        for due in leased:
            attempt = due.delivery.attempts + 1
            body = due.body
            timestamp = int(self.stamp().timestamp())
            headers = {
                "content-type": "application/json",
                "user-agent": "mcp-payments-webhooks",
                "webhook-id": due.delivery.event_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": signature(self._secrets(due.endpoint), due.delivery.event_id, timestamp, body),
            }
            response = await self.transport.post(due.endpoint.url, headers, body, self.reach)
            log.info(
                "webhook_attempt",
                delivery=due.delivery.id,
                endpoint=due.endpoint.id,
                attempt=attempt,
                status_code=response.status_code,
                error=response.error,
            )
            await self.calls.write(self._recorder(due, attempt, response))

    def _recorder(self, due: Due, attempt: int, response: Response) -> Callable[[UnitOfWork], Awaitable[None]]:
        return lambda uow: self.record(uow, due, attempt, response)

    def _secrets(self, endpoint: Endpoint) -> list[str]:
        secrets = [self.box.open(endpoint.secret)]
        if endpoint.previous_secret and endpoint.previous_until and self.clock.now() < endpoint.previous_until:
            secrets.append(self.box.open(endpoint.previous_secret))
        return secrets

    async def record(self, uow: UnitOfWork, due: Due, attempt: int, response: Response) -> None:
        """The outcome of `attempt`, unless the delivery has moved on since (a lease that ran out, a deletion)."""
        repo = uow.repo(WEBHOOKS)
        delivery = await repo.get_delivery(due.delivery.id, lock=True)
        if delivery is None or delivery.status is not DeliveryStatus.PENDING or delivery.attempts != attempt:
            return
        endpoint = await repo.get_endpoint(delivery.endpoint_id, lock=True)
        assert endpoint is not None  # deliveries reference their endpoint; endpoints are never removed
        now = self.clock.now()
        code = response.status_code
        delivery = replace(delivery, last_status_code=code, last_error=response.error, updated_at=now)
        if code is not None and 200 <= code < 300:
            await repo.update_delivery(replace(delivery, status=DeliveryStatus.DELIVERED, next_attempt_at=None))
            if endpoint.failing_since is not None:
                await repo.update_endpoint(replace(endpoint, failing_since=None, updated_at=now))
            return
        retry_at = None if code == GONE else next_attempt(attempt, now, self.rng)
        status = DeliveryStatus.PENDING if retry_at is not None else DeliveryStatus.FAILED
        await repo.update_delivery(replace(delivery, status=status, next_attempt_at=retry_at))
        failing_since = endpoint.failing_since or now
        reason = None
        if code == GONE:
            reason = "the receiver answered 410 Gone"
        elif now - failing_since >= self.disable_after:
            reason = f"every delivery failed for {_days(self.disable_after)}"
        if reason is not None and endpoint.status is EndpointStatus.ENABLED:
            log.warning("webhook_endpoint_disabled", endpoint=endpoint.id, reason=reason)
            endpoint = replace(endpoint, status=EndpointStatus.DISABLED, disabled_reason=reason)
        await repo.update_endpoint(replace(endpoint, failing_since=failing_since, updated_at=now))


def _days(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours >= 24 else f"{hours:g} hours"
