"""Plans: prices a subscription can be on. A plan's price never changes once used: a new price is a new plan."""

from __future__ import annotations

from mcp_payments.domain.errors import PlanNotFound
from mcp_payments.domain.money import Money
from mcp_payments.domain.subscriptions import Interval, Plan
from mcp_payments.services.pages import Cursors, Page
from mcp_payments.services.ports import Clock, Ids, UnitOfWork
from mcp_payments.services.subscriptions.ports import SUBSCRIPTIONS


class PlanService:
    def __init__(self, clock: Clock, ids: Ids, cursors: Cursors) -> None:
        self.clock = clock
        self.ids = ids
        self.cursors = cursors

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

    async def get(self, uow: UnitOfWork, plan_id: str) -> Plan:
        plan = await uow.repo(SUBSCRIPTIONS).get_plan(plan_id)
        if plan is None:
            raise PlanNotFound(f"plan {plan_id} does not exist: see list_plans or create_plan", plan_id=plan_id)
        return plan

    async def search(self, uow: UnitOfWork, cursor: str | None, limit: int) -> Page[Plan]:
        rows = await uow.repo(SUBSCRIPTIONS).plans(self.cursors.decode_str("plans", cursor), limit + 1)
        return self.cursors.paginate("plans", rows, limit, lambda p: p.id)
