"""A demo history, made as a stream of batches in time order (services/demo/*.py make each kind of thing).

Everything is drawn from one seed: the same seed, size, span and end give the same rows, ids included. Things
are simulated as events on a clock: each day's new payments, wallet calls and subscriptions are scheduled, and
what they cause later (a refund, a dispute, a renewal) is scheduled when they happen, so audit records are
chained in the order the calls were made.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from mcp_payments.domain import cards
from mcp_payments.domain.ledger import AccountType, system_account_id
from mcp_payments.services.demo.payments import Card, PaymentMaker
from mcp_payments.services.demo.recorder import Batch, Recorder, Row
from mcp_payments.services.demo.spec import (
    CARD_MIX,
    CURRENCY_MIX,
    PLANS,
    DemoSpec,
    amount_of,
    daily_counts,
    pick,
)
from mcp_payments.services.demo.subscriptions import Life, SubscriptionMaker, draw_life, plan_row
from mcp_payments.services.demo.wallets import WalletMaker

AGENT = "demo:agent"  # who the history's calls are recorded as
OPERATOR = "demo:operator"  # refunds
SYSTEM_TYPES = (
    AccountType.EXTERNAL,
    AccountType.CLEARING,
    AccountType.MERCHANT,
    AccountType.FEES,
    AccountType.DISPUTES,
)
DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Sizes:
    customers: int
    subscriptions: int
    wallets: int
    wallet_calls: int


def sizes(payments: int) -> Sizes:
    return Sizes(
        customers=max(10, payments // 6),
        subscriptions=max(2, payments // 250),
        wallets=min(2_000, max(4, payments // 2_000)),
        wallet_calls=payments // 10,
    )


def system_accounts(spec: DemoSpec) -> list[Row]:
    """The system accounts the history posts to, as ensure_system_account makes them (created if missing)."""
    currencies = sorted({c for c, _, _ in CURRENCY_MIX} | {p.currency for p in PLANS})
    return [
        {
            "id": system_account_id(t, c),
            "type": t.value,
            "currency": c,
            "allow_overdraft": True,
            "posted": 0,
            "pending": 0,
            "name": f"{t.value} {c}",
            "created_at": spec.start,
        }
        for c in currencies
        for t in SYSTEM_TYPES
    ]


class DemoHistory:
    def __init__(
        self, spec: DemoSpec, head: tuple[int, str], fingerprint_key: bytes, batch_payments: int = 5_000
    ) -> None:
        self.spec = spec
        # Seeded on purpose: the history must repeat exactly. Its ids only need to be unique, never unguessable.
        self.rng = random.Random(spec.seed)  # noqa: S311
        self.rec = Recorder(random.Random(spec.seed + 1), AGENT, head)  # noqa: S311
        self.batch_payments = batch_payments
        self.sizes = sizes(spec.payments)
        self.cards = [
            Card(token, cards.brand_of(number), number[-4:], cards.fingerprint(number, fingerprint_key), scenario)
            for token, number, scenario, _ in CARD_MIX
        ]
        self.card_weights = tuple(share for *_, share in CARD_MIX)
        self.queue: list[tuple[datetime, int, Callable[[], None]]] = []
        self.scheduled = 0
        self.customers: list[str] = []
        self.payments = PaymentMaker(self.rec, self.rng, self.schedule, spec.end, OPERATOR)
        self.wallets = WalletMaker(self.rec, self.rng)

    def schedule(self, at: datetime, action: Callable[[], None]) -> None:
        self.scheduled += 1
        heapq.heappush(self.queue, (at, self.scheduled, action))

    def customer(self, at: datetime) -> str:
        """create_customer, a few minutes before the customer's first payment."""
        at -= timedelta(seconds=self.rng.randint(30, 600))
        n = len(self.customers) + 1
        cid = self.rec.new_id("cus", at)
        email, name = f"customer{n}@demo.example", f"Demo Customer {n}"
        self.rec.add(
            "customers",
            {
                "id": cid,
                "email": email,
                "email_normalized": email,
                "name": name,
                "name_normalized": name.lower(),
                "description": None,
                "created_at": at,
            },
        )
        self.rec.record("create_customer", at, {"email": email, "name": name}, [cid])
        self.customers.append(cid)
        return cid

    def payer(self, at: datetime, one_offs: int) -> str:
        """A new customer now and then, else a returning one (early customers come back most)."""
        if not self.customers or self.rng.random() < self.sizes.customers / max(one_offs, 1):
            return self.customer(at)
        return self.customers[int(len(self.customers) * self.rng.random() ** 2)]

    def batches(self) -> Iterator[Batch]:
        """The whole history, a batch at a time (about `batch_payments` payments each)."""
        spec, rng = self.spec, self.rng
        for row in system_accounts(spec):
            self.rec.add("system_accounts", row)
        plan_ids = {}
        for p in PLANS:
            plan_ids[p.key] = self.rec.new_id("plan", spec.start)
            self.rec.add("plans", plan_row(p, plan_ids[p.key], spec.start))
            arguments = {"name": p.name, "amount_minor": p.amount, "currency": p.currency, "interval": p.interval.value}
            self.rec.record("create_plan", spec.start, arguments, [plan_ids[p.key]])
        for n in range(self.sizes.wallets):
            self.wallets.open(n, spec.start + timedelta(hours=1, seconds=n))
        # Subscriptions are drawn first: their invoice payments count towards the total.
        span = (spec.end - spec.start).total_seconds()
        starts = sorted(
            spec.start + timedelta(seconds=span * rng.random() ** 0.8) for _ in range(self.sizes.subscriptions)
        )
        lives = [draw_life(rng, t, spec.end) for t in starts]
        invoice_payments = sum(len(life.periods) for life in lives)
        while invoice_payments > spec.payments and lives:
            invoice_payments -= len(lives.pop().periods)
        one_offs = spec.payments - invoice_payments
        subs = SubscriptionMaker(self.rec, self.payments, plan_ids, spec.end)
        for life in lives:
            self.schedule(life.start, partial(self._subscribe, subs, life))
        days = spec.days
        for d, (count, calls) in enumerate(
            zip(
                daily_counts(one_offs, days, spec.start),
                daily_counts(self.sizes.wallet_calls, days, spec.start),
                strict=True,
            )
        ):
            day = spec.start + d * DAY
            for at in sorted(day + timedelta(seconds=86_400 * rng.random()) for _ in range(count)):
                self.schedule(at, partial(self._pay, at, one_offs))
            for at in sorted(day + timedelta(seconds=86_400 * rng.random()) for _ in range(calls)):
                self.schedule(at, partial(self.wallets.operate, at))
            while self.queue and self.queue[0][0] < day + DAY:
                heapq.heappop(self.queue)[2]()
                if self.rec.batch.payments >= self.batch_payments:
                    yield self.rec.take()
        while self.queue:  # nothing is scheduled past the end; kept for safety
            heapq.heappop(self.queue)[2]()
        yield self.rec.take()

    def _pay(self, at: datetime, one_offs: int) -> None:
        currency, _, median = CURRENCY_MIX[pick(self.rng, tuple(w for _, w, _ in CURRENCY_MIX))]
        card = self.cards[pick(self.rng, self.card_weights)]
        self.payments.create(card, amount_of(self.rng, median), currency, self.payer(at, one_offs), at)

    def _subscribe(self, subs: SubscriptionMaker, life: Life) -> None:
        cid = self.customer(life.start)
        card = self.cards[0] if self.rng.random() < 0.7 else self.cards[1]
        subs.start(life, cid, card, self.schedule)

    @property
    def head(self) -> tuple[int, str]:
        """The audit chain's head after the history."""
        return self.rec.seq, self.rec.hash

    @property
    def posted(self) -> dict[str, int]:
        """What the history added to each account's posted balance."""
        return dict(self.rec.posted)
