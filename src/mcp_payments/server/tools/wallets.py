"""Wallet tools: open, fund, move, reserve and read money on the ledger."""

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, Field

from mcp_payments.domain import fx
from mcp_payments.domain.errors import InvalidInput
from mcp_payments.domain.ledger import Account, Hold
from mcp_payments.domain.limits import EXTERNAL
from mcp_payments.domain.money import AmountInput, parse_amount
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools.counting import NOT_COUNTED, captured_hold, stated_spend
from mcp_payments.server.tools.models import HoldOut, MoneyOut, Mutation, Transaction, Wallet
from mcp_payments.server.tools.params import (
    FREE_TEXT,
    ID_CHARS,
    Amount,
    AmountMinor,
    CurrencyCode,
    Cursor,
    HoldId,
    Limit,
    Memo,
    Name,
    WalletId,
)
from mcp_payments.server.views import WALLET
from mcp_payments.services.commands import Kind
from mcp_payments.services.container import Services
from mcp_payments.services.pages import Page
from mcp_payments.services.payments.proceeds import ProceedsService
from mcp_payments.services.ports import StatementLine, UnitOfWork
from mcp_payments.services.postings import Movement
from mcp_payments.services.wallets import WalletService

StatementLimit = Annotated[int, Field(default=10, strict=True, ge=1, le=100, description="Lines per page, 1-100.")]


class WalletResult(Mutation):
    wallet: Wallet

    def entity_ids(self) -> tuple[str, ...]:
        return (self.wallet.id,)

    @classmethod
    def of(cls, account: Account) -> "WalletResult":
        return cls(wallet=Wallet.of(account))


class WalletList(BaseModel):
    wallets: list[Wallet]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")

    @classmethod
    def of(cls, page: Page[Account]) -> "WalletList":
        return cls(wallets=[Wallet.of(a) for a in page.items], next_cursor=page.next_cursor)


class MovementResult(Mutation):
    transaction: Transaction
    wallet: Wallet = Field(description="The wallet after the movement.")

    def entity_ids(self) -> tuple[str, ...]:
        return self.transaction.entity_ids()

    @classmethod
    def of(cls, m: Movement) -> "MovementResult":
        wallet = next(a for a in m.accounts.values() if a.id.startswith("wal_"))
        return cls(transaction=Transaction.of(m.transaction), wallet=Wallet.of(wallet))


class TransferResult(Mutation):
    transaction: Transaction
    source: Wallet
    destination: Wallet
    fx_rate: str | None = Field(description="The rate used when the wallets' currencies differ, else null.")

    def entity_ids(self) -> tuple[str, ...]:
        return self.transaction.entity_ids()

    @classmethod
    def of(cls, m: Movement) -> "TransferResult":
        entries = m.transaction.entries
        # One validation of the whole tree: transfer_funds is the hottest money tool (benchmarks/transfers.py).
        return cls.model_validate(
            {
                "transaction": Transaction.fields(m.transaction),
                "source": Wallet.fields(m.accounts[entries[0].account_id]),
                "destination": Wallet.fields(m.accounts[entries[-1].account_id]),
                "fx_rate": None if m.conversion is None else fx.rate_decimal(m.conversion.rate),
            }
        )


class HoldResult(Mutation):
    hold: HoldOut
    wallet: Wallet | None = Field(default=None, description="The wallet after the change, when it was read.")
    transaction: Transaction | None = Field(default=None, description="The capture's transaction, if captured.")

    def entity_ids(self) -> tuple[str, ...]:
        moved = self.transaction.entity_ids() if self.transaction is not None else ()
        return (self.hold.id, self.hold.wallet_id, *moved)

    @classmethod
    def of_placed(cls, placed: tuple[Hold, Account]) -> "HoldResult":
        return cls(hold=HoldOut.of(placed[0]), wallet=Wallet.of(placed[1]))

    @classmethod
    def of_captured(cls, captured: tuple[Hold, Movement]) -> "HoldResult":
        hold, movement = captured
        return cls(
            hold=HoldOut.of(hold),
            wallet=Wallet.of(movement.accounts[hold.account_id]),
            transaction=Transaction.of(movement.transaction),
        )

    @classmethod
    def of_released(cls, hold: Hold) -> "HoldResult":
        return cls(hold=HoldOut.of(hold))


class StatementLineOut(BaseModel):
    entry_id: int
    transaction_id: str
    kind: str
    memo: str | None
    amount: MoneyOut = Field(description="Signed: negative left the wallet, positive arrived.")
    balance_after: MoneyOut
    counterparties: list[str]
    created_at: datetime


class Statement(BaseModel):
    wallet: Wallet
    lines: list[StatementLineOut] = Field(description="Newest first.")
    next_cursor: str | None

    @classmethod
    def of(cls, result: tuple[Account, Page[StatementLine]]) -> "Statement":
        account, page = result
        lines = [
            StatementLineOut(
                entry_id=line.entry_id,
                transaction_id=line.transaction_id,
                kind=line.kind,
                memo=line.memo,
                amount=MoneyOut.of(line.amount, line.currency),
                balance_after=MoneyOut.of(line.balance_after, line.currency),
                counterparties=list(line.counterparties),
                created_at=line.created_at,
            )
            for line in page.items
        ]
        return cls(wallet=Wallet.of(account), lines=lines, next_cursor=page.next_cursor)


class Quote(BaseModel):
    source: MoneyOut = Field(description="What leaves the source wallet.")
    target: MoneyOut = Field(description="What the destination receives: the exact value, rounded down.")
    rounding: MoneyOut = Field(
        description="The part of the source that buys nothing (less than one minor unit of the target): it goes to "
        "the FX rounding account. Send source minus rounding to lose nothing."
    )
    rate: str = Field(
        description="Units of the target currency per unit of the source currency, as a decimal; exact unless the "
        "rate has no finite decimal form (the inverse of a configured rate: rounded to 10 significant digits, "
        "rate_exact is exact)."
    )
    rate_exact: str = Field(
        description='The rate the conversion computes with, exactly: a decimal, or a fraction such as "1/150".'
    )

    @classmethod
    def of(cls, c: fx.Conversion) -> "Quote":
        return cls(
            source=MoneyOut.of(c.source.minor, c.source.currency.code),
            target=MoneyOut.of(c.target.minor, c.target.currency.code),
            rounding=MoneyOut.of(c.residue.minor, c.source.currency.code),
            rate=fx.rate_decimal(c.rate),
            rate_exact=fx.rate_text(c.rate),
        )


def register(box: Toolbox, app: Services) -> None:  # one closure per tool, by design
    wallets, proceeds = app.get(WalletService), app.get(ProceedsService)

    @box.command(kind=Kind.WRITE, toolset="wallets", title="Create wallet")
    async def create_wallet(uow: UnitOfWork, currency: CurrencyCode, name: Name = None) -> WalletResult:
        """Open an empty wallet in one currency. Use the returned wallet id with fund_wallet, transfer_funds
        and hold_funds. A wallet cannot be overdrawn."""
        return WalletResult.of(await wallets.create_wallet(uow, currency, name))

    @box.query(toolset="wallets", title="Get wallet", snapshot=False)
    async def get_wallet(uow: UnitOfWork, wallet_id: WalletId) -> Wallet:
        """Read one wallet's balances: posted (booked), pending (reserved by holds) and available to spend."""
        return Wallet.of(await wallets.get_wallet(uow, wallet_id))

    @box.query(toolset="wallets", title="List wallets", snapshot=False)
    async def list_wallets(uow: UnitOfWork, limit: Limit = 20, cursor: Cursor = None) -> WalletList:
        """List wallets, oldest first, a page at a time; pass next_cursor back to continue."""
        return WalletList.of(await wallets.list_wallets(uow, cursor, limit))

    @box.command(kind=Kind.MONEY, toolset="wallets", title="Fund wallet", counts=NOT_COUNTED)
    async def fund_wallet(
        uow: UnitOfWork,
        wallet_id: WalletId,
        currency: Annotated[
            CurrencyCode | None,
            Field(default=None, description="ISO 4217 code of the amount; required unless payment_id is given."),
        ] = None,
        amount: Amount = None,
        amount_minor: AmountMinor = None,
        payment_id: Annotated[
            str | None,
            Field(
                default=None,
                pattern=f"^pay_{ID_CHARS}$",
                max_length=44,
                description="Fund from this succeeded payment's net proceeds (after fees and refunds) instead of from "
                "outside; omit the amount to move all that is left.",
            ),
        ] = None,
        memo: Memo = None,
    ) -> MovementResult:
        """Add money to a wallet: from outside the ledger (a top-up), or from a succeeded payment's proceeds
        (payment_id). Returns the journal transaction and the wallet's new balances."""
        if payment_id is not None:
            part = None if amount is None and amount_minor is None else AmountInput(amount, amount_minor)
            return MovementResult.of(await proceeds.fund_wallet(uow, wallet_id, payment_id, part, memo))
        if currency is None:
            raise InvalidInput("give the currency of the amount (e.g. USD), or a payment_id to fund from")
        money = parse_amount(amount, amount_minor, currency)
        return MovementResult.of(await wallets.fund(uow, wallet_id, money, memo))

    @box.command(
        kind=Kind.MONEY, toolset="wallets", title="Withdraw", destructive=True, counts=stated_spend(lambda _: EXTERNAL)
    )
    async def withdraw_from_wallet(
        uow: UnitOfWork,
        wallet_id: WalletId,
        currency: CurrencyCode,
        amount: Amount = None,
        amount_minor: AmountMinor = None,
        memo: Memo = None,
        payee_name: Annotated[
            str | None,
            Field(
                default=None,
                min_length=1,
                max_length=200,
                description="Who receives the payout, by full name. A name not paid before is screened against the "
                "sanctions list first: a close match waits for approval (pending_approval), a confirmed one is "
                "refused (sanctions_blocked).",
            ),
            FREE_TEXT,
        ] = None,
    ) -> MovementResult:
        """Take money out of a wallet to outside the ledger (a payout), optionally naming who receives it. Fails
        with insufficient_funds, changing nothing, when the wallet's available balance is smaller."""
        del payee_name  # screened before the handler runs (services/counterparties.py); the ledger keeps no names
        money = parse_amount(amount, amount_minor, currency)
        return MovementResult.of(await wallets.withdraw(uow, wallet_id, money, memo))

    @box.command(
        kind=Kind.MONEY,
        toolset="wallets",
        title="Transfer funds",
        destructive=True,
        counts=stated_spend(lambda arguments: arguments["destination_wallet_id"]),
    )
    async def transfer_funds(
        uow: UnitOfWork,
        source_wallet_id: WalletId,
        destination_wallet_id: WalletId,
        currency: CurrencyCode,
        amount: Amount = None,
        amount_minor: AmountMinor = None,
        memo: Memo = None,
    ) -> TransferResult:
        """Move money between two wallets atomically. `currency` is the source wallet's currency; when the
        destination holds another currency the amount is converted at the configured rate (see get_fx_quote)."""
        money = parse_amount(amount, amount_minor, currency)
        return TransferResult.of(await wallets.transfer(uow, source_wallet_id, destination_wallet_id, money, memo))

    @box.query(toolset="wallets", title="FX quote")
    async def get_fx_quote(
        source_currency: CurrencyCode,
        target_currency: CurrencyCode,
        amount: Amount = None,
        amount_minor: AmountMinor = None,
    ) -> Quote:
        """Price a conversion at the configured rate without moving money: what transfer_funds between wallets
        of these currencies would deliver (rounded down) and the rounding it would leave. An amount worth less
        than one minor unit of the target currency is refused with invalid_amount, naming the least that converts."""
        return Quote.of(wallets.quote(parse_amount(amount, amount_minor, source_currency), target_currency))

    @box.command(kind=Kind.MONEY, toolset="wallets", title="Hold funds", counts=NOT_COUNTED)
    async def hold_funds(
        uow: UnitOfWork,
        wallet_id: WalletId,
        currency: CurrencyCode,
        amount: Amount = None,
        amount_minor: AmountMinor = None,
        expires_in_seconds: Annotated[
            int | None,
            Field(
                default=None,
                strict=True,
                ge=60,
                le=30 * 24 * 3600,
                description="Seconds until the hold releases itself; default 7 days.",
            ),
        ] = None,
        memo: Memo = None,
    ) -> HoldResult:
        """Reserve money in a wallet without moving it: it stops being available until capture_hold moves it
        or release_hold (or expiry) gives it back."""
        money = parse_amount(amount, amount_minor, currency)
        ttl = timedelta(seconds=expires_in_seconds) if expires_in_seconds else None
        return HoldResult.of_placed(await wallets.hold(uow, wallet_id, money, ttl, memo))

    @box.command(kind=Kind.MONEY, toolset="wallets", title="Capture hold", destructive=True, counts=captured_hold)
    async def capture_hold(
        uow: UnitOfWork,
        hold_id: HoldId,
        amount: Amount = None,
        amount_minor: AmountMinor = None,
        destination_wallet_id: Annotated[
            WalletId | None,
            Field(default=None, description="Wallet that receives the money; omit to pay out of the ledger."),
        ] = None,
        memo: Memo = None,
    ) -> HoldResult:
        """Capture an active hold, fully or in part (omit the amount for all of it). The uncaptured rest is
        released at once; a hold resolves only once."""
        partial = None if amount is None and amount_minor is None else AmountInput(amount, amount_minor)
        return HoldResult.of_captured(await wallets.capture_hold(uow, hold_id, partial, destination_wallet_id, memo))

    @box.command(kind=Kind.MONEY, toolset="wallets", title="Release hold", counts=NOT_COUNTED)
    async def release_hold(uow: UnitOfWork, hold_id: HoldId) -> HoldResult:
        """Cancel an active hold and make its whole amount available again."""
        return HoldResult.of_released(await wallets.release_hold(uow, hold_id))

    @box.query(toolset="wallets", title="Wallet statement")
    async def get_wallet_statement(
        uow: UnitOfWork, wallet_id: WalletId, limit: Limit = 20, cursor: Cursor = None
    ) -> Statement:
        """The wallet's ledger entries, newest first, each with the balance after it and the other accounts of
        its transaction."""
        return Statement.of(await wallets.statement(uow, wallet_id, cursor, limit))

    @box.query(toolset="wallets", title="Wallet statement page")
    async def wallet_statement_page(
        uow: UnitOfWork, wallet_id: WalletId, limit: StatementLimit = 10, cursor: Cursor = None
    ) -> Statement:
        """One page of a wallet's statement, newest first, for the wallet view's pager (shown to the view only;
        get_wallet_statement is the same for the model)."""
        return Statement.of(await wallets.statement(uow, wallet_id, cursor, limit))

    box.show_in_view("wallet_statement_page", WALLET, visibility=("app",))
