"""AML monitoring when money moves: after a money call's handler, in its transaction (a Watcher of the Dispatcher,
services/commands.py), each wallet its journal transactions touched, and the customer of a payment it made, is
evaluated against the rules (domain/aml.py); each rule that fires raises a compliance flag (services/flags.py).

In the movement's own transaction rather than a job: the flag and its webhook exist exactly when the movement
does (a rolled-back movement raises nothing), and the wallet's balance rows are locked by the posting already,
so two movements of one wallet are evaluated one after the other and a crossing is seen once. The database sums
the windows (services/compliance_ports.py), so the cost of a movement does not grow with the wallet's day."""

from __future__ import annotations

from datetime import datetime

from mcp_payments.domain import aml
from mcp_payments.domain.aml import History, Move, Rules
from mcp_payments.domain.fx import RateTable
from mcp_payments.domain.money import currency
from mcp_payments.services.commands import Command, Done
from mcp_payments.services.compliance_ports import FLAGS, FlagRepository, Posted
from mcp_payments.services.flags import ComplianceFlags
from mcp_payments.services.ports import Clock, UnitOfWork


class AmlMonitor:
    def __init__(self, clock: Clock, rates: RateTable, rules: Rules, flags: ComplianceFlags) -> None:
        self.clock = clock
        self.rates = rates
        self.rules = rules
        self.flags = flags

    async def moved(self, uow: UnitOfWork, command: Command, done: Done) -> None:
        transactions = sorted(e for e in done.entities if e.startswith("txn_"))
        if transactions:
            for wallet_id in sorted({e for e in done.entities if e.startswith("wal_")}):
                await self._wallet(uow, command, wallet_id, transactions)
        made = sorted(e for e in done.entities if e.startswith("pay_"))
        if made:
            for customer_id in sorted({e for e in done.entities if e.startswith("cus_")}):
                await self._customer(uow, command, customer_id, made)

    async def _wallet(self, uow: UnitOfWork, command: Command, wallet_id: str, transactions: list[str]) -> None:
        repo, now, rules = uow.repo(FLAGS), self.clock.now(), self.rules
        for posted in await repo.entries_of(wallet_id, transactions):
            current = self._move(posted)
            if current is None:
                continue  # no rate to USD: not evaluated
            history = await self._history(repo, wallet_id, posted.currency, now, transactions)
            if history is None:
                continue
            for trigger in aml.evaluate(wallet_id, current, history, rules):
                await self.flags.raise_flag(uow, trigger, command.principal)

    async def _history(
        self, repo: FlagRepository, wallet_id: str, code: str, now: datetime, excluding: list[str]
    ) -> History | None:
        rules, of = self.rules, currency(code)
        low = aml.from_usd(aml.band_low(rules), of, self.rates)
        if low is None:
            return None
        fast = await repo.totals(wallet_id, now - rules.velocity_window, excluding)
        through = await repo.totals(wallet_id, now - rules.pass_through_window, excluding)
        band = await repo.at_least(wallet_id, now - rules.structuring_window, max(low, 1), excluding)
        usd = [aml.to_usd(n, of, self.rates) or 0 for n in (fast.arrived + fast.left, through.arrived, through.left)]
        moves = tuple(m for p in band if (m := self._move(p)) is not None)
        return History(fast.count, usd[0], usd[1], usd[2], moves)

    async def _customer(self, uow: UnitOfWork, command: Command, customer_id: str, made: list[str]) -> None:
        """Velocity per customer, over its payments (a payment names its customer among its entities)."""
        repo = uow.repo(FLAGS)
        since = self.clock.now() - self.rules.velocity_window
        count, total = 0, 0
        for code, n, amount in await repo.payment_totals(customer_id, since, made):
            count += n
            total += aml.to_usd(amount, currency(code), self.rates) or 0
        history = History(count, total, 0, 0, ())
        for posted in await repo.payments_of(made):
            current = self._move(posted)
            if current is None:
                continue
            for trigger in aml.velocity(customer_id, current, history, self.rules):
                await self.flags.raise_flag(uow, trigger, command.principal)

    def _move(self, posted: Posted) -> Move | None:
        usd = aml.to_usd(posted.amount, currency(posted.currency), self.rates)
        return None if usd is None else Move(posted.transaction_id, posted.at, usd)
