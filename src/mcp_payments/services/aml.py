"""AML monitoring when money moves: after a money call's handler, in its transaction (a Watcher of the Dispatcher,
services/commands.py), each wallet its journal transactions touched is evaluated against the rules
(domain/aml.py), and each rule that fires raises a compliance flag (services/flags.py).

In the movement's own transaction rather than a job: the flag and its webhook exist exactly when the movement
does (a rolled-back movement raises nothing), and the wallet's balance rows are locked by the posting already,
so two movements of one wallet are evaluated one after the other and a crossing is seen once."""

from __future__ import annotations

from mcp_payments.domain import aml
from mcp_payments.domain.aml import Move, Rules
from mcp_payments.domain.fx import RateTable
from mcp_payments.domain.money import Money
from mcp_payments.services.commands import Command, Done
from mcp_payments.services.compliance_ports import FLAGS, Posted
from mcp_payments.services.flags import ComplianceFlags
from mcp_payments.services.ports import Clock, UnitOfWork


class AmlMonitor:
    def __init__(self, clock: Clock, rates: RateTable, rules: Rules, flags: ComplianceFlags) -> None:
        self.clock = clock
        self.rates = rates
        self.rules = rules
        self.flags = flags

    async def moved(self, uow: UnitOfWork, command: Command, done: Done) -> None:
        await self._wallets(uow, command, done)
        await self._customers(uow, command, done)

    async def _customers(self, uow: UnitOfWork, command: Command, done: Done) -> None:
        """Velocity per customer, over its payments (a payment names its customer among its entities)."""
        made = {e for e in done.entities if e.startswith("pay_")}
        since = self.clock.now() - self.rules.velocity_window
        for customer_id in sorted({e for e in done.entities if e.startswith("cus_")}):
            payments = await uow.repo(FLAGS).customer_payments(customer_id, since)
            moves = [m for p in payments if (m := self._move(p)) is not None]
            for current in (m for m in moves if m.transaction_id in made):
                earlier = [m for m in moves if m.transaction_id not in made]
                for trigger in aml.velocity(customer_id, current, earlier, self.rules):
                    await self.flags.raise_flag(uow, trigger, command.principal)

    async def _wallets(self, uow: UnitOfWork, command: Command, done: Done) -> None:
        transactions = {e for e in done.entities if e.startswith("txn_")}
        wallets = sorted({e for e in done.entities if e.startswith("wal_")})
        if not transactions:
            return
        since = self.clock.now() - self.rules.longest
        for wallet_id in wallets:
            postings = await uow.repo(FLAGS).postings(wallet_id, since)
            moves = [m for p in postings if (m := self._move(p)) is not None]
            for current in (m for m in moves if m.transaction_id in transactions):
                earlier = [m for m in moves if m.transaction_id not in transactions]
                for trigger in aml.evaluate(wallet_id, current, earlier, self.rules):
                    await self.flags.raise_flag(uow, trigger, command.principal)

    def _move(self, posted: Posted) -> Move | None:
        usd = aml.to_usd(Money.of(posted.amount, posted.currency), self.rates)
        return None if usd is None else Move(posted.transaction_id, posted.at, usd)
