"""Wallet use cases: each runs inside a unit of work it is handed and never commits itself."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from mcp_payments.domain import fx, ledger
from mcp_payments.domain.errors import HoldNotFound
from mcp_payments.domain.ledger import Account, AccountType, Hold, JournalTransaction
from mcp_payments.domain.money import AmountInput, Money, currency
from mcp_payments.services.pages import Cursors, Page
from mcp_payments.services.ports import Claim, Clock, Ids, StatementLine, UnitOfWork
from mcp_payments.services.postings import Movement, post


class WalletService:
    def __init__(
        self,
        clock: Clock,
        ids: Ids,
        fx_rates: dict[str, Decimal] | None = None,
        default_hold_ttl: timedelta = timedelta(days=7),
        *,
        cursors: Cursors,
    ) -> None:
        self.clock = clock
        self.cursors = cursors
        self.ids = ids
        self.rates = fx.RateTable(fx_rates or {})
        self.default_hold_ttl = default_hold_ttl

    async def create_wallet(self, uow: UnitOfWork, currency_code: str, name: str | None) -> Account:
        cur = currency(currency_code)
        wallet_id = self.ids.new("wal")
        account = Account(wallet_id, AccountType.WALLET, cur.code, False, 0, 0, name or "", self.clock.now())
        await uow.ledger.add_account(account)
        return account

    async def get_wallet(self, uow: UnitOfWork, wallet_id: str) -> Account:
        account = await uow.ledger.get_account(wallet_id)
        if account is None or account.type is not AccountType.WALLET:
            raise ledger.wallet_not_found(wallet_id)
        return account

    async def list_wallets(self, uow: UnitOfWork, cursor: str | None, limit: int) -> Page[Account]:
        rows = await uow.ledger.list_accounts(AccountType.WALLET, self.cursors.decode_str("wallets", cursor), limit + 1)
        return self.cursors.paginate("wallets", rows, limit, lambda a: a.id)

    async def fund(self, uow: UnitOfWork, wallet_id: str, amount: Money, memo: str | None) -> Movement:
        world = await uow.ledger.ensure_system_account(AccountType.EXTERNAL, amount.currency.code, self.clock.now())
        return await post(
            uow, ledger.movement(self.ids.new("txn"), "fund", world, wallet_id, amount, memo, self.clock.now())
        )

    async def withdraw(self, uow: UnitOfWork, wallet_id: str, amount: Money, memo: str | None) -> Movement:
        world = await uow.ledger.ensure_system_account(AccountType.EXTERNAL, amount.currency.code, self.clock.now())
        return await post(
            uow, ledger.movement(self.ids.new("txn"), "withdrawal", wallet_id, world, amount, memo, self.clock.now())
        )

    async def transfer(
        self, uow: UnitOfWork, source_id: str, target_id: str, amount: Money, memo: str | None
    ) -> Movement:
        """Move `amount` (in the source wallet's currency) to the target; converts when currencies differ."""
        txn = ledger.movement(self.ids.new("txn"), "transfer", source_id, target_id, amount, memo, self.clock.now())
        result = await uow.ledger.post(txn)
        if result.applied:
            return Movement(txn, ledger.apply(result.before, txn))
        target = result.before.get(target_id)
        source = result.before.get(source_id)
        if (
            source is not None
            and target is not None
            and source.currency == amount.currency.code
            and target.currency != source.currency
        ):
            return await self._cross_currency(uow, source, target, amount, memo)
        ledger.check_posting(result.before, txn)
        raise AssertionError("the database refused a posting the domain accepts")  # pragma: no cover

    async def _cross_currency(
        self, uow: UnitOfWork, source: Account, target: Account, amount: Money, memo: str | None
    ) -> Movement:
        conversion = self.quote(amount, target.currency)
        now = self.clock.now()
        desk = fx.Desk(
            await uow.ledger.ensure_system_account(AccountType.FX, source.currency, now),
            await uow.ledger.ensure_system_account(AccountType.FX_ROUNDING, source.currency, now),
            await uow.ledger.ensure_system_account(AccountType.FX, target.currency, now),
        )
        entries = fx.entries(conversion, source.id, target.id, desk)
        txn = JournalTransaction(self.ids.new("txn"), "fx_transfer", entries, memo, now)
        movement = await post(uow, txn, conversion)
        await uow.ledger.add_conversion(fx.ConversionRecord(txn.id, source.id, target.id, conversion))
        return movement

    def quote(self, amount: Money, target_code: str) -> fx.Conversion:
        """Convert at the configured rate, rounding down: what a transfer would take, credit and leave as residue."""
        return self.rates.convert(amount, currency(target_code))

    async def hold(
        self, uow: UnitOfWork, wallet_id: str, amount: Money, ttl: timedelta | None, memo: str | None
    ) -> tuple[Hold, Account]:
        accounts = await uow.ledger.lock_accounts([wallet_id])
        account = accounts.get(wallet_id)
        if account is None or account.type is not AccountType.WALLET:
            raise ledger.wallet_not_found(wallet_id)
        now = self.clock.now()
        hold = ledger.place_hold(self.ids.new("hld"), account, amount, memo, now, now + (ttl or self.default_hold_ttl))
        await uow.ledger.adjust_pending(wallet_id, amount.minor)
        await uow.ledger.add_hold(hold)
        return hold, _with_pending(account, amount.minor)

    async def capture_hold(
        self,
        uow: UnitOfWork,
        hold_id: str,
        amount: AmountInput | None,
        destination: str | None,
        memo: str | None,
    ) -> tuple[Hold, Movement]:
        """Capture all of a hold (amount None) or part of it; the rest is released."""
        hold = await self._locked_hold(uow, hold_id)
        now = self.clock.now()
        money = amount.in_currency(hold.currency) if amount is not None else None
        target = destination or await uow.ledger.ensure_system_account(AccountType.EXTERNAL, hold.currency, now)
        captured, txn = ledger.capture(hold, money, self.ids.new("txn"), target, memo, now)
        # Both accounts at once, in id order: the same order every posting locks in, so no deadlock.
        await uow.ledger.lock_accounts([hold.account_id, target])
        await uow.ledger.adjust_pending(hold.account_id, -hold.amount)
        movement = await post(uow, txn)
        await uow.ledger.update_hold(captured)
        return captured, movement

    async def release_hold(self, uow: UnitOfWork, hold_id: str) -> Hold:
        hold = await self._locked_hold(uow, hold_id)
        released = ledger.release(hold, self.clock.now())
        await uow.ledger.lock_accounts([hold.account_id])
        await uow.ledger.adjust_pending(hold.account_id, -hold.amount)
        await uow.ledger.update_hold(released)
        return released

    @staticmethod
    async def expired_holds(uow: UnitOfWork, claim: Claim) -> list[Hold]:
        """Active holds past their expiry, claimed so that concurrent workers skip them (the expire_holds job)."""
        return await uow.ledger.claim_expired_holds(claim)

    async def expire_hold(self, uow: UnitOfWork, hold: Hold) -> list[str]:
        """Release a claimed hold that expired; returns what changed: the hold, and its wallet (whose available
        balance grew), as hold_funds and release_hold name both."""
        done = ledger.release(hold, self.clock.now(), expired=True)
        await uow.ledger.adjust_pending(hold.account_id, -hold.amount)
        await uow.ledger.update_hold(done)
        return [done.id, hold.account_id]

    async def statement(
        self, uow: UnitOfWork, wallet_id: str, cursor: str | None, limit: int
    ) -> tuple[Account, Page[StatementLine]]:
        account = await self.get_wallet(uow, wallet_id)
        scope = f"statement {wallet_id}"  # a cursor pages the statement of the wallet it came from
        rows = await uow.ledger.statement(wallet_id, self.cursors.decode_int(scope, cursor), limit + 1)
        return account, self.cursors.paginate(scope, rows, limit, lambda line: line.entry_id)

    async def _locked_hold(self, uow: UnitOfWork, hold_id: str) -> Hold:
        hold = await uow.ledger.lock_hold(hold_id)
        if hold is None:
            raise HoldNotFound(f"hold {hold_id} does not exist: check the id returned by hold_funds", hold_id=hold_id)
        return hold


def _with_pending(account: Account, delta: int) -> Account:
    return replace(account, pending=account.pending + delta)
