"""Subscriptions of a demo history: plans, trials, renewals with their invoices and payments, upgrades,
downgrades and churn. A subscription's whole life is drawn when it starts (so its row is written once, final);
its invoices are recorded at their own times, each paid by a card payment posted like any other."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from mcp_payments.domain.ledger import JournalTransaction
from mcp_payments.domain.subscriptions import Interval, period_boundary
from mcp_payments.services.demo.payments import SYSTEM, Card, PaymentMaker
from mcp_payments.services.demo.recorder import Recorder, Row
from mcp_payments.services.demo.spec import (
    DOWNGRADE,
    MONTHLY_CHURN,
    PLAN_WEIGHTS,
    PLANS,
    TRIAL_CONVERTS,
    TRIAL_DAYS,
    TRIALING,
    UPGRADE,
    PlanSpec,
    pick,
)


@dataclass
class Life:
    """What happens to one subscription: its periods (start, end, plan) and how it ends."""

    start: datetime
    trial_end: datetime | None
    plan: PlanSpec  # the plan subscribed to
    periods: list[tuple[datetime, datetime, PlanSpec]] = field(default_factory=list)
    canceled_at: datetime | None = None


def draw_life(rng: random.Random, start: datetime, end: datetime) -> Life:
    plan = PLANS[pick(rng, PLAN_WEIGHTS)]
    trial_end = start + timedelta(days=TRIAL_DAYS) if rng.random() < TRIALING else None
    life = Life(start, trial_end, plan)
    if trial_end is not None and rng.random() > TRIAL_CONVERTS:
        life.canceled_at = min(trial_end - timedelta(hours=rng.randint(1, 200)), end - timedelta(seconds=1))
        life.canceled_at = max(life.canceled_at, start + timedelta(minutes=5))
        if life.canceled_at >= end:
            life.canceled_at = None  # started in the history's last minutes: still trialing at its end
        return life
    anchor = trial_end or start
    churn = MONTHLY_CHURN if plan.interval is Interval.MONTH else 0.25
    n = 0
    while (period_start := period_boundary(anchor, plan.interval, 1, n)) < end:
        if n and plan.interval is Interval.MONTH:
            plan = _changed(rng, plan)
        period_end = period_boundary(anchor, plan.interval, 1, n + 1)
        life.periods.append((period_start, period_end, plan))
        if rng.random() < churn:
            canceled = period_start + (period_end - period_start) * rng.uniform(0.05, 0.95)
            if canceled < end:
                life.canceled_at = canceled
            break
        n += 1
    return life


def _changed(rng: random.Random, plan: PlanSpec) -> PlanSpec:
    x = rng.random()
    tier = plan.tier + 1 if x < UPGRADE else plan.tier - 1 if x < UPGRADE + DOWNGRADE else plan.tier
    same = [p for p in PLANS if p.currency == plan.currency and p.interval is plan.interval and p.tier == tier]
    return same[0] if same else plan


class SubscriptionMaker:
    def __init__(self, rec: Recorder, payments: PaymentMaker, plan_ids: dict[str, str], end: datetime) -> None:
        self.rec = rec
        self.payments = payments
        self.plan_ids = plan_ids
        self.end = end

    def start(
        self, life: Life, customer: str, card: Card, later: Callable[[datetime, Callable[[], None]], None]
    ) -> None:
        """create_subscription: the row (final), the first invoice now or after the trial, the rest scheduled."""
        at = life.start
        sid = self.rec.new_id("sub", at)
        last = life.periods[-1] if life.periods else None
        first_plan, plan = life.plan, last[2] if last else life.plan
        status = "active"
        if life.canceled_at is not None:
            status = "canceled"
        elif life.trial_end is not None and life.trial_end >= self.end:
            status = "trialing"
        period_start, period_end = (
            (last[0], last[1]) if last else (at, life.trial_end or at + timedelta(days=TRIAL_DAYS))
        )
        self.rec.add(
            "subscriptions",
            {
                "id": sid,
                "customer_id": customer,
                "plan_id": self.plan_ids[plan.key],
                "status": status,
                "anchor": life.trial_end or at,
                "period_index": len(life.periods) - 1,
                "current_period_start": period_start,
                "current_period_end": period_end,
                "trial_end": life.trial_end,
                "card_brand": card.brand,
                "card_last4": card.last4,
                "card_exp_month": 12,
                "card_exp_year": at.year + 3,
                "card_fingerprint": card.fingerprint,
                "scenario": card.scenario,
                "created_at": at,
                "updated_at": max(
                    [at, *(p[0] for p in life.periods), *([life.canceled_at] if life.canceled_at else [])]
                ),
                "canceled_at": life.canceled_at,
                "cancel_at_period_end": False,
                "pause_collection": None,
                "resumes_at": None,
            },
        )
        arguments = {"customer_id": customer, "plan_id": self.plan_ids[first_plan.key], "payment_method": card.token}
        if life.trial_end is None and life.periods:
            journal, entities = self.invoice(sid, customer, card, 0, life.periods[0], at)
            self.rec.record("create_subscription", at, arguments, [sid, *entities], journal)
        else:
            self.rec.record("create_subscription", at, arguments, [sid])
        previous = first_plan
        for n, period in enumerate(life.periods):
            if n == 0 and life.trial_end is None:
                continue
            if period[2] is not previous:
                change_at = period[0] - timedelta(hours=6)
                changed = period[2]
                later(
                    change_at,
                    partial(self.change, sid, changed, change_at),
                )
            previous = period[2]
            later(period[0], partial(self.renew, sid, customer, card, n, period))
        if life.canceled_at is not None:
            canceled_at = life.canceled_at
            later(
                canceled_at,
                partial(self.cancel, sid, canceled_at),
            )

    def cancel(self, sid: str, at: datetime) -> None:
        self.rec.record("cancel_subscription", at, {"subscription_id": sid}, [sid])

    def change(self, sid: str, plan: PlanSpec, at: datetime) -> None:
        # At the next renewal, without proration: the new price starts with the next period.
        arguments = {"subscription_id": sid, "plan_id": self.plan_ids[plan.key], "proration_behavior": "none"}
        self.rec.record("change_subscription_plan", at, arguments, [sid])

    def renew(self, sid: str, customer: str, card: Card, n: int, period: tuple[datetime, datetime, PlanSpec]) -> None:
        journal, entities = self.invoice(sid, customer, card, n, period, period[0])
        self.rec.record("renew_subscriptions", period[0], {}, [sid, *entities], journal, principal=SYSTEM)

    def invoice(
        self, sid: str, customer: str, card: Card, n: int, period: tuple[datetime, datetime, PlanSpec], at: datetime
    ) -> tuple[list[JournalTransaction], list[str]]:
        """Invoice `n`, paid at once by an off-session card payment."""
        start, end, plan = period
        iid = self.rec.new_id("inv", at)
        pid = self.rec.new_id("pay", at)
        p: Row = self.payments.row(pid, card, plan.amount, plan.currency, customer, at)
        p["description"] = f"invoice {iid} attempt 1"
        self.rec.add("payments", p)
        self.rec.batch.payments += 1
        self.payments.event(pid, "payment.created", at, amount=plan.amount, capture_method="automatic")
        self.payments.attempt(pid, "authorize", "approved", at)
        txn = self.payments.capture(p, at)
        self.rec.add(
            "invoices",
            {
                "id": iid,
                "subscription_id": sid,
                "customer_id": customer,
                "period_index": n,
                "period_start": start,
                "period_end": end,
                "currency": plan.currency,
                "total": plan.amount,
                "status": "paid",
                "attempts": 1,
                "payment_id": pid,
                "last_decline_code": None,
                "created_at": at,
                "updated_at": at,
                "next_attempt_at": None,
            },
        )
        self.rec.add(
            "invoice_lines",
            {
                "invoice_id": iid,
                "kind": "plan",
                "description": f"{plan.name} (1 {plan.interval})",
                "amount": plan.amount,
                "period_start": start,
                "period_end": end,
            },
        )
        return [txn], [iid, pid]


def plan_row(plan: PlanSpec, plan_id: str, at: datetime) -> Row:
    return {
        "id": plan_id,
        "name": plan.name,
        "amount": plan.amount,
        "currency": plan.currency,
        "interval": plan.interval.value,
        "interval_count": 1,
        "trial_days": TRIAL_DAYS,
        "used": True,
        "created_at": at,
    }
