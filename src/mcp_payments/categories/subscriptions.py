"""Subscriptions: plans, subscriptions on them, invoices paid through the payments core, and their renewals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mcp_payments.adapters.providers.sandbox import SandboxProvider
from mcp_payments.categories import Category
from mcp_payments.config import Settings
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools import sandbox_clock, subscription_changes, subscriptions
from mcp_payments.services.clock_advance import ClockAdvance
from mcp_payments.services.container import Services
from mcp_payments.services.job_runner import JobRunner
from mcp_payments.services.jobs import AnyJob, Job
from mcp_payments.services.payments.lifecycle import PaymentService
from mcp_payments.services.ports import Repo
from mcp_payments.services.sandbox_clock import SandboxClock
from mcp_payments.services.subscriptions.billing import Billing
from mcp_payments.services.subscriptions.changes import SubscriptionChanges
from mcp_payments.services.subscriptions.lifecycle import SubscriptionService
from mcp_payments.services.subscriptions.plans import PlanService
from mcp_payments.services.subscriptions.ports import SUBSCRIPTIONS

if TYPE_CHECKING:
    from mcp_payments.adapters.db.uow import RepositoryFactory


# Renewals claimed and handled per transaction, each with its own audit record: a month of 1,000 subscriptions is
# 40 transactions, not 1,000 (BEGIN, the claim, the failures' cleanup and COMMIT are paid once per batch;
# benchmarks/renewals.py). A batch that fails is rolled back and retried one renewal at a time.
RENEWAL_BATCH = 25


def repositories() -> Mapping[Repo[Any], RepositoryFactory]:
    from mcp_payments.adapters.db.subscriptions_repo import SqlSubscriptions

    return {SUBSCRIPTIONS: SqlSubscriptions}


def wire(services: Services, settings: Settings) -> None:
    clock, ids, cursors = services.clock, services.ids, services.cursors
    plans = PlanService(clock, ids, cursors)
    billing = Billing(clock, ids, services.get(PaymentService), cursors)
    services.add(plans)
    services.add(billing)
    lifecycle = SubscriptionService(clock, ids, plans, billing, cursors, settings.dunning())
    services.add(lifecycle)
    services.add(SubscriptionChanges(clock, lifecycle, services.get(PaymentService)))


def tools(box: Toolbox, services: Services) -> None:
    subscriptions.register(box, services)
    subscription_changes.register(box, services)
    # The clock moves the sandbox's time only: with a real payment provider the tool refuses (sandbox_only).
    sandbox = isinstance(services.get(PaymentService).provider, SandboxProvider)
    advance = ClockAdvance(services.get(SandboxClock), services.calls, services.get(JobRunner), sandbox=sandbox)
    sandbox_clock.register(box, advance, subscriptions.TOOLSET)


def jobs(services: Services) -> Sequence[AnyJob]:
    lifecycle, changes = services.get(SubscriptionService), services.get(SubscriptionChanges)
    return (
        Job(
            "renew_subscriptions",
            lifecycle.due_renewals,
            lifecycle.renew,
            lambda s: s.id,
            lifecycle.oldest_renewal,
            batch=RENEWAL_BATCH,
        ),
        Job(
            "retry_subscription_invoices",
            lifecycle.due_retries,
            lifecycle.retry,
            lambda s: s.id,
            lifecycle.oldest_retry,
        ),
        Job(
            "expire_incomplete_subscriptions",
            lifecycle.due_expiries,
            lifecycle.expire,
            lambda s: s.id,
            lifecycle.oldest_expiry,
        ),
        Job("resume_subscriptions", changes.due_resumes, changes.resume_due, lambda s: s.id, changes.oldest_resume),
    )


CATEGORY = Category(
    toolset="subscriptions",
    id_prefixes=("plan", "sub", "inv"),
    wire=wire,
    tools=tools,
    jobs=jobs,
    repositories=repositories,
)
