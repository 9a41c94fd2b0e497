"""What the views show a human (MCP resources, MCP Apps): composed from the services the tools use, never recomputed.

A view's numbers are the tools' numbers: the dashboard asks the analytics service exactly what
get_revenue_summary, get_payment_success_rates and get_subscription_metrics ask it, the wallet view pages with
get_wallet_statement's service, the approval queue is list_pending_approvals'. Each use case takes the unit of work
it reads in (one snapshot for the whole dashboard) and the caller, whose role narrows what it sees exactly as the
equivalent tool does: everyone's approvals for an operator or admin, only one's own otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol

from mcp_payments.domain.approvals import Approval
from mcp_payments.domain.ledger import Account, JournalTransaction
from mcp_payments.domain.payments import Payment
from mcp_payments.domain.periods import Granularity
from mcp_payments.domain.roles import Role
from mcp_payments.services.access import Caller
from mcp_payments.services.analytics import reports
from mcp_payments.services.analytics.service import AnalyticsService
from mcp_payments.services.approvals import Approvals
from mcp_payments.services.job_runner import JobRunner, JobStatus
from mcp_payments.services.monitoring import JobsHealth, jobs_health
from mcp_payments.services.pages import Page
from mcp_payments.services.payments.lifecycle import PaymentDetail, PaymentService
from mcp_payments.services.ports import Repo, StatementLine, UnitOfWork
from mcp_payments.services.wallets import WalletService

DASHBOARD_WALLETS = 20  # wallets listed on the dashboard; the others are counted
DASHBOARD_APPROVALS = 5  # pending approvals listed on the dashboard; the others are counted
DASHBOARD_DECLINES = 5  # top decline codes on the dashboard
QUEUE_LIMIT = 100  # a page of the approval queue (list_pending_approvals' maximum)

StepKind = Literal["created", "attempt", "event", "refund", "dispute", "ledger"]


@dataclass(frozen=True, slots=True)
class WalletTotal:
    """The wallets of one currency: how many, and their balances added up (minor units)."""

    currency: str
    wallets: int
    posted: int
    pending: int

    @property
    def available(self) -> int:
        return self.posted - self.pending


class ViewsRepository(Protocol):
    async def wallet_totals(self) -> list[WalletTotal]:
        """Every wallet's balances added up per currency, in currency order."""
        ...

    async def pending_approvals(self, principal: str | None) -> int:
        """How many approvals are pending: everyone's (None) or one requester's."""
        ...


VIEWS: Repo[ViewsRepository] = Repo("views")


@dataclass(frozen=True, slots=True)
class TimelineStep:
    """One thing that happened to a payment. `ref` is the refund's or journal transaction's id, or the attempt's
    action; `amount` is in minor units of the payment's currency (None when the step moves nothing)."""

    at: datetime
    kind: StepKind
    title: str
    status: str | None = None
    amount: int | None = None
    ref: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentTimeline:
    payment: Payment
    detail: PaymentDetail  # as get_payment reads it: attempts, refunds, events, ledger, risk
    steps: list[TimelineStep]  # all of it in time order (ties: the order it was recorded in)


@dataclass(frozen=True, slots=True)
class WalletView:
    wallet: Account  # posted, pending and available, as get_wallet answers
    statement: Page[StatementLine]  # one page of get_wallet_statement, newest first


@dataclass(frozen=True, slots=True)
class ApprovalQueue:
    approvals: list[Approval]  # oldest first
    more: bool  # more are pending than listed
    everyone: bool  # the caller sees everyone's (an operator or admin), or else only its own


@dataclass(frozen=True, slots=True)
class WalletBalances:
    wallets: list[Account]  # the first DASHBOARD_WALLETS, by id
    total_wallets: int
    totals: list[WalletTotal]  # per currency, over every wallet


@dataclass(frozen=True, slots=True)
class DashboardSummary:
    start_date: str
    end_date: str
    time_zone: str
    currency: str | None
    revenue: reports.RevenueReport  # per day, per currency: get_revenue_summary's
    success: reports.SuccessReport  # get_payment_success_rates' (top DASHBOARD_DECLINES decline codes)
    subscriptions: reports.SubscriptionReport  # get_subscription_metrics'
    balances: WalletBalances
    approvals: ApprovalQueue  # the first DASHBOARD_APPROVALS the caller may see
    pending_approvals: int  # how many of those the caller may see are pending
    jobs: list[JobStatus]  # list_background_jobs'
    jobs_health: JobsHealth  # get_service_health's summary of them


class Views:
    def __init__(
        self,
        payments: PaymentService,
        wallets: WalletService,
        approvals: Approvals,
        analytics: AnalyticsService,
        jobs: JobRunner,
    ) -> None:
        self.payments = payments
        self.wallets = wallets
        self.approvals = approvals
        self.analytics = analytics
        self.jobs = jobs

    async def payment_timeline(self, uow: UnitOfWork, payment_id: str) -> PaymentTimeline:
        """The payment and everything that happened to it, in time order; payment_not_found for an unknown id."""
        detail = await self.payments.detail(uow, payment_id)
        return PaymentTimeline(detail.payment, detail, timeline(detail))

    async def wallet_view(self, uow: UnitOfWork, wallet_id: str, cursor: str | None, limit: int) -> WalletView:
        """The wallet's balances and one page of its statement; wallet_not_found for an unknown id."""
        wallet, page = await self.wallets.statement(uow, wallet_id, cursor, limit)
        return WalletView(wallet, page)

    async def approval_queue(self, uow: UnitOfWork, caller: Caller, limit: int = QUEUE_LIMIT) -> ApprovalQueue:
        """The pending approvals the caller may see, oldest first (list_pending_approvals' rule)."""
        everyone = caller.role.covers(Role.OPERATOR)
        page = await self.approvals.pending(uow, None if everyone else caller.principal, None, limit)
        return ApprovalQueue(page.items, page.next_cursor is not None, everyone)

    async def dashboard_summary(
        self,
        uow: UnitOfWork,
        caller: Caller,
        date_from: date | None,
        date_to: date | None,
        time_zone: str = "UTC",
        currency: str | None = None,
    ) -> DashboardSummary:
        """Revenue, authorizations, MRR, balances, approvals and job health for one range, read in one snapshot.
        The range and its defaults (the last 30 days) are the analytics tools'; bad dates or zones are theirs too."""
        q = self.analytics.question(date_from, date_to, time_zone, currency)
        revenue = await self.analytics.revenue(uow, q, Granularity.DAY)
        success = await self.analytics.success_rates(uow, q, DASHBOARD_DECLINES)
        subscriptions = await self.analytics.subscriptions(uow, q)
        queue = await self.approval_queue(uow, caller, DASHBOARD_APPROVALS)
        statuses = await self.jobs.report(uow)
        return DashboardSummary(
            revenue.start_date,
            revenue.end_date,
            q.time_zone,
            q.currency,
            revenue,
            success,
            subscriptions,
            await self.balances(uow),
            ApprovalQueue(queue.approvals, queue.more, queue.everyone),
            await uow.repo(VIEWS).pending_approvals(None if queue.everyone else caller.principal),
            statuses,
            jobs_health(statuses),
        )

    async def balances(self, uow: UnitOfWork, cap: int = DASHBOARD_WALLETS) -> WalletBalances:
        """The first `cap` wallets and, over all of them, their count and totals per currency."""
        totals = await uow.repo(VIEWS).wallet_totals()
        page = await self.wallets.list_wallets(uow, None, cap)
        return WalletBalances(page.items, sum(t.wallets for t in totals), totals)


def timeline(detail: PaymentDetail) -> list[TimelineStep]:
    """Everything recorded of a payment as one list in time order; a stable sort keeps each source's own order."""
    p = detail.payment
    steps = [TimelineStep(p.created_at, "created", "payment created", None, p.amount, p.id, p.description)]
    steps += [
        TimelineStep(a.created_at, "attempt", f"provider {a.action}", a.outcome, None, a.action, a.decline_code)
        for a in detail.attempts
    ]
    steps += [
        TimelineStep(e.created_at, "dispute" if "dispute" in e.type else "event", e.type, None, None, None, None)
        for e in detail.events
    ]
    steps += [
        TimelineStep(r.created_at, "refund", "refund", r.status.value, r.amount, r.id, r.failure_reason or r.reason)
        for r in detail.refunds
    ]
    steps += [_ledger_step(t, p.currency) for t in detail.ledger]
    return sorted(steps, key=lambda s: s.at)


def _ledger_step(txn: JournalTransaction, currency: str) -> TimelineStep:
    moved = sum(e.amount for e in txn.entries if e.amount > 0 and e.currency == currency)
    return TimelineStep(txn.created_at, "ledger", f"ledger {txn.kind}", None, moved, txn.id, txn.memo)
