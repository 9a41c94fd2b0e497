"""The views' JSON (resources, MCP Apps): the tools' own output models, put together as each view shows them.

A view reuses the model of the tool that answers the same question (Statement, PaymentView, ApprovalOut, the
analytics reports, BackgroundJob), so that a number reads the same in a view and in a tool's result.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from mcp_payments.server.tools.analytics import PaymentSuccessRates, RevenueSummary, SubscriptionMetrics
from mcp_payments.server.tools.approvals import ApprovalOut
from mcp_payments.server.tools.models import MoneyOut, Wallet
from mcp_payments.server.tools.monitoring import BackgroundJob
from mcp_payments.server.tools.payments import PaymentView
from mcp_payments.server.tools.wallets import Statement
from mcp_payments.services import views as v


class TimelineStepOut(BaseModel):
    at: datetime
    kind: v.StepKind
    title: str
    status: str | None
    amount: MoneyOut | None
    ref: str | None = Field(description="The refund's or journal transaction's id, or the provider action.")
    detail: str | None

    @classmethod
    def of(cls, s: v.TimelineStep, currency: str) -> TimelineStepOut:
        amount = None if s.amount is None else MoneyOut.of(s.amount, currency)
        return cls(at=s.at, kind=s.kind, title=s.title, status=s.status, amount=amount, ref=s.ref, detail=s.detail)


class PaymentTimelineOut(PaymentView):
    timeline: list[TimelineStepOut] = Field(description="Everything above in one list, in time order.")

    @classmethod
    def of_timeline(cls, t: v.PaymentTimeline) -> PaymentTimelineOut:
        view = PaymentView.of(t.detail)
        steps = [TimelineStepOut.of(s, t.payment.currency) for s in t.steps]
        return cls(**dict(view), timeline=steps)


class WalletViewOut(Statement):
    @classmethod
    def of_view(cls, w: v.WalletView) -> WalletViewOut:
        return cls(**dict(Statement.of((w.wallet, w.statement))))


class ApprovalQueueOut(BaseModel):
    approvals: list[ApprovalOut] = Field(description="Oldest first.")
    more: bool = Field(description="More are pending than listed: list_pending_approvals pages through them all.")
    scope: Literal["everyone", "own"] = Field(description="everyone's (an operator or admin) or your own.")

    @classmethod
    def of(cls, q: v.ApprovalQueue) -> ApprovalQueueOut:
        return cls(
            approvals=[ApprovalOut.of(a) for a in q.approvals],
            more=q.more,
            scope="everyone" if q.everyone else "own",
        )


class WalletTotalOut(BaseModel):
    currency: str
    wallets: int
    posted: MoneyOut
    pending: MoneyOut
    available: MoneyOut


class WalletBalancesOut(BaseModel):
    wallets: list[Wallet] = Field(description="The first wallets, by id.")
    total_wallets: int
    totals: list[WalletTotalOut] = Field(description="Over every wallet, per currency.")

    @classmethod
    def of(cls, b: v.WalletBalances) -> WalletBalancesOut:
        totals = [
            WalletTotalOut(
                currency=t.currency,
                wallets=t.wallets,
                posted=MoneyOut.of(t.posted, t.currency),
                pending=MoneyOut.of(t.pending, t.currency),
                available=MoneyOut.of(t.available, t.currency),
            )
            for t in b.totals
        ]
        return cls(wallets=[Wallet.of(a) for a in b.wallets], total_wallets=b.total_wallets, totals=totals)


class JobsHealthOut(BaseModel):
    most_lagging_job: str | None
    lag_seconds: float
    last_job_run_at: datetime | None
    parked_job_items: int


class DashboardOut(BaseModel):
    start_date: str
    end_date: str
    time_zone: str
    currency: str | None
    revenue: RevenueSummary = Field(description="Per day and currency: get_revenue_summary's answer.")
    success_rates: PaymentSuccessRates = Field(description="get_payment_success_rates' answer (top 5 declines).")
    subscriptions: SubscriptionMetrics = Field(description="get_subscription_metrics' answer: MRR movements.")
    balances: WalletBalancesOut
    pending_approvals: int = Field(description="How many pending approvals you may see.")
    approvals: ApprovalQueueOut = Field(description="The first few of them.")
    jobs: list[BackgroundJob] = Field(description="list_background_jobs' answer.")
    jobs_health: JobsHealthOut

    @classmethod
    def of(cls, d: v.DashboardSummary) -> DashboardOut:
        h = d.jobs_health
        return cls(
            start_date=d.start_date,
            end_date=d.end_date,
            time_zone=d.time_zone,
            currency=d.currency,
            revenue=RevenueSummary.model_validate(d.revenue),
            success_rates=PaymentSuccessRates.model_validate(d.success),
            subscriptions=SubscriptionMetrics.model_validate(d.subscriptions),
            balances=WalletBalancesOut.of(d.balances),
            pending_approvals=d.pending_approvals,
            approvals=ApprovalQueueOut.of(d.approvals),
            jobs=[BackgroundJob.of(s) for s in d.jobs],
            jobs_health=JobsHealthOut(
                most_lagging_job=h.most_lagging,
                lag_seconds=h.lag_seconds,
                last_job_run_at=h.last_run_at,
                parked_job_items=h.parked_items,
            ),
        )
