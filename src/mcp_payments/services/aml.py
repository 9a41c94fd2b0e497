"""AML monitoring when money moves: after a money call's handler, in its transaction (a Watcher of the Dispatcher,
services/commands.py), each wallet its journal transactions touched, and the customer of a payment it made, is
evaluated against the rules (domain/aml.py); each rule that fires raises a compliance flag (services/flags.py).

Background work that moves money (a subscription renewal's charge, any audited job, a provider event) is evaluated
the same way, in the item's own transaction (`background`, shown it by CallRunner's background paths); its flags'
principal is the system. A customer's payment is also checked against the large-transaction threshold (one flag per
payment), and so is money a payment moves afterwards between system accounts in the background (a dispute).

In the movement's own transaction rather than a job: the flag and its webhook exist exactly when the movement
does (a rolled-back movement raises nothing), and the wallet's balance rows are locked by the posting already,
so two movements of one wallet are evaluated one after the other and a crossing is seen once. The database sums
the windows (services/compliance_ports.py), so the cost of a movement does not grow with the wallet's day."""

from __future__ import annotations

from collections.abc import Sequence

from mcp_payments.domain import aml
from mcp_payments.domain.aml import History, Move, Rules
from mcp_payments.domain.fx import RateTable
from mcp_payments.domain.ledger import JournalTransaction
from mcp_payments.domain.money import currency
from mcp_payments.services.calls import SYSTEM_PRINCIPAL
from mcp_payments.services.commands import Command, Done
from mcp_payments.services.compliance_ports import FLAGS, ActivityQuery, Posted
from mcp_payments.services.flags import ComplianceFlags
from mcp_payments.services.ports import PAYMENTS, Clock, UnitOfWork


class AmlMonitor:
    def __init__(self, clock: Clock, rates: RateTable, rules: Rules, flags: ComplianceFlags) -> None:
        self.clock = clock
        self.rates = rates
        self.rules = rules
        self.flags = flags
        # The band's low end in the currency where it is the fewest minor units: no entry of any currency that is
        # in the band in USD terms is below it (the rules then check each in USD exactly).
        lows = [aml.from_usd(aml.band_low(rules), currency(code), rates) for code in _codes(rates)]
        self.band_minor = max(1, min((low for low in lows if low is not None), default=aml.band_low(rules)))

    async def moved(self, uow: UnitOfWork, command: Command, done: Done) -> None:
        transactions = tuple(sorted(e for e in done.entities if e.startswith("txn_")))
        wallets = tuple(sorted({e for e in done.entities if e.startswith("wal_")}))
        if transactions and wallets:
            await self._wallets(uow, command, wallets, transactions)
        made = sorted(e for e in done.entities if e.startswith("pay_"))
        if made:
            customers = {e for e in done.entities if e.startswith("cus_")}
            if not customers:
                # A charge whose answer names its payment but not its customer (create_subscription's first invoice,
                # pay_invoice, a renewal). A refund names its payment too: the payment is evaluated again, and
                # raises nothing new (a flag's key names the payment that crossed the line).
                customers = {c for p in made if (c := await self._customer_of(uow, p)) is not None}
            for customer_id in sorted(customers):
                await self._customer(uow, command, customer_id, made)

    async def background(
        self, uow: UnitOfWork, job: str, changed: Sequence[str], posted: Sequence[JournalTransaction]
    ) -> None:
        """The rules on what one item of background work (a subscription renewal's charge, a provider event's
        dispute) posted, in its transaction, as if a money call had: its flags are raised by the system principal."""
        if not posted:
            return  # nothing moved (a declined renewal): nothing to evaluate
        moved = {t.id for t in posted} | {e.account_id for t in posted for e in t.entries}
        entities = (*changed, *sorted(i for i in moved if i.startswith(("txn_", "wal_"))))
        command = Command(job, SYSTEM_PRINCIPAL, {})
        await self.moved(uow, command, Done({}, entities))
        made = {e for e in changed if e.startswith("pay_")}
        for txn in posted:
            paid_for = txn.reference
            if paid_for is None or not paid_for.startswith("pay_") or paid_for in made:
                continue  # not a payment's, or the payment this item made (evaluated as that payment, above)
            if not any(e.account_id.startswith("wal_") for e in txn.entries):  # a wallet's is evaluated above
                await self._payment_money(uow, command, paid_for, txn)

    async def _payment_money(self, uow: UnitOfWork, command: Command, payment_id: str, txn: JournalTransaction) -> None:
        """A payment's money moved after the payment was made, between system accounts only (a dispute takes it
        back, a failed refund's reversal returns it): no wallet sees it, and the payment was evaluated when it was
        made, so the large-transaction rule is applied to this movement itself (its key names the movement), about
        the payment's customer, or the payment when it has none."""
        largest = max(txn.entries, key=lambda e: abs(e.amount))  # through clearing, an amount is booked twice
        usd = aml.to_usd(abs(largest.amount), currency(largest.currency), self.rates)
        if usd is None:
            return  # no rate to USD: not evaluated
        subject = await self._customer_of(uow, payment_id) or payment_id
        trigger = aml.large(subject, Move(txn.id, txn.created_at, usd), self.rules)
        if trigger is not None:
            await self.flags.raise_flag(uow, trigger, command.principal)

    async def _customer_of(self, uow: UnitOfWork, payment_id: str) -> str | None:
        payment = await uow.repo(PAYMENTS).get(payment_id)
        return None if payment is None else payment.customer_id

    async def _wallets(
        self, uow: UnitOfWork, command: Command, wallets: tuple[str, ...], transactions: tuple[str, ...]
    ) -> None:
        now, rules = self.clock.now(), self.rules
        query = ActivityQuery(
            wallets,
            transactions,
            now - rules.velocity_window,
            now - rules.pass_through_window,
            now - rules.structuring_window,
            self.band_minor,
        )
        for activity in await uow.repo(FLAGS).activity(query):
            for posted in activity.current:
                current = self._move(posted)
                if current is None:
                    continue  # no rate to USD: not evaluated
                of = currency(posted.currency)
                usd = [
                    aml.to_usd(n, of, self.rates) or 0 for n in (activity.fast_moved, activity.arrived, activity.left)
                ]
                band = tuple(m for p in activity.band if (m := self._move(p)) is not None)
                history = History(activity.fast_count, usd[0], usd[1], usd[2], band)
                for trigger in aml.evaluate(activity.wallet_id, current, history, rules):
                    await self.flags.raise_flag(uow, trigger, command.principal)

    async def _customer(self, uow: UnitOfWork, command: Command, customer_id: str, made: list[str]) -> None:
        """Velocity per customer, over its payments (a payment names its customer among its entities); one
        customer's payments within the velocity window are few, so they are read, not summed by the database."""
        since = self.clock.now() - self.rules.velocity_window
        moves = [m for p in await uow.repo(FLAGS).customer_payments(customer_id, since) if (m := self._move(p))]
        earlier = [m for m in moves if m.transaction_id not in made]
        for current in (m for m in moves if m.transaction_id in made):
            history = History.of(current, earlier, self.rules)
            large = aml.large(customer_id, current, self.rules)
            for trigger in [*([large] if large else []), *aml.velocity(customer_id, current, history, self.rules)]:
                await self.flags.raise_flag(uow, trigger, command.principal)

    def _move(self, posted: Posted) -> Move | None:
        usd = aml.to_usd(posted.amount, currency(posted.currency), self.rates)
        return None if usd is None else Move(posted.transaction_id, posted.at, usd)


def _codes(rates: RateTable) -> set[str]:
    return {"USD", *(code for pair in rates.rates for code in pair)}
