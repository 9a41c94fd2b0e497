"""Plans: prices a subscription can be on. A plan's price never changes once used: a new price is a new plan."""

from __future__ import annotations

from mcp_payments.domain.errors import PlanNotFound
from mcp_payments.domain.money import Money
from mcp_payments.domain.subscriptions import Interval, Plan
from mcp_payments.services.pages import Cursors, Page
from mcp_payments.services.ports import Clock, Ids, UnitOfWork
from mcp_payments.services.subscriptions.ports import SUBSCRIPTIONS

MAX_CACHED_PLANS = 1000


class PlanService:
    def __init__(self, clock: Clock, ids: Ids, cursors: Cursors) -> None:
        self.clock = clock
        self.ids = ids
        self.cursors = cursors
        # Used plans, by id: a used plan never changes again (nothing but `used` is ever updated, and only to
        # true), so the renewals read each once per process rather than once per renewal.
        self._used: dict[str, Plan] = {}

    async def create(
        self, uow: UnitOfWork, name: str, price: Money, interval: Interval, interval_count: int, trial_days: int
    ) -> Plan:
        plan = Plan(
            self.ids.new("plan"),
            name,
            price.minor,
            price.currency.code,
            interval,
            interval_count,
            trial_days,
            self.clock.now(),
        )
        await uow.repo(SUBSCRIPTIONS).add_plan(plan)
        return plan

    async def get(self, uow: UnitOfWork, plan_id: str, *, cached: bool = False) -> Plan:
        """The plan; cached=True: a used plan may come from this process's cache (its price is fixed)."""
        if cached and (plan := self._used.get(plan_id)) is not None:
            return plan
        plan = await uow.repo(SUBSCRIPTIONS).get_plan(plan_id)
        if plan is None:
            raise PlanNotFound(f"plan {plan_id} does not exist: see list_plans or create_plan", plan_id=plan_id)
        if plan.used:
            if len(self._used) >= MAX_CACHED_PLANS:
                self._used.clear()
            self._used[plan_id] = plan
        return plan

    async def search(self, uow: UnitOfWork, cursor: str | None, limit: int) -> Page[Plan]:
        rows = await uow.repo(SUBSCRIPTIONS).plans(self.cursors.decode_str("plans", cursor), limit + 1)
        return self.cursors.paginate("plans", rows, limit, lambda p: p.id)
