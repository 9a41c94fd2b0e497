"""Wallet tools: open, fund, move, reserve and read money on the ledger."""

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, Field

from mcp_payments.domain import fx
from mcp_payments.domain.errors import InvalidInput
from mcp_payments.domain.ledger import Account, Hold
from mcp_payments.domain.money import AmountInput, parse_amount
from mcp_payments.server.registry import Toolbox, ToolKind
from mcp_payments.server.tools.models import HoldOut, MoneyOut, Mutation, Transaction, Wallet
from mcp_payments.server.tools.params import (
    ID_CHARS,
    Amount,
    AmountMinor,
    CurrencyCode,
    Cursor,
    HoldId,
    IdempotencyKey,
    Limit,
    Memo,
    Name,
    WalletId,
)
from mcp_payments.services.container import Services
from mcp_payments.services.pages import Page
from mcp_payments.services.ports import StatementLine
from mcp_payments.services.postings import Movement


class WalletResult(Mutation):
    wallet: Wallet

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

    @classmethod
    def of(cls, m: Movement) -> "MovementResult":
        wallet = next(a for a in m.accounts.values() if a.id.startswith("wal_"))
        return cls(transaction=Transaction.of(m.transaction), wallet=Wallet.of(wallet))


class TransferResult(Mutation):
    transaction: Transaction
    source: Wallet
    destination: Wallet
    fx_rate: str | None = Field(description="The rate used when the wallets' currencies differ, else null.")

    @classmethod
    def of(cls, m: Movement) -> "TransferResult":
        entries = m.transaction.entries
        return cls(
            transaction=Transaction.of(m.transaction),
            source=Wallet.of(m.accounts[entries[0].account_id]),
            destination=Wallet.of(m.accounts[entries[-1].account_id]),
            fx_rate=None if m.conversion is None else fx.rate_decimal(m.conversion.rate),
        )


class HoldResult(Mutation):
    hold: HoldOut
    wallet: Wallet | None = Field(default=None, description="The wallet after the change, when it was read.")
    transaction: Transaction | None = Field(default=None, description="The capture's transaction, if captured.")

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
        "rate has no finite decimal form (the inverse of a configured rate, shown to 28 significant digits)."
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
    wallets = app.wallets

    async def create_wallet(
        currency: CurrencyCode, name: Name = None, idempotency_key: IdempotencyKey = None
    ) -> WalletResult:
        """Open an empty wallet in one currency. Use the returned wallet id with fund_wallet, transfer_funds
        and hold_funds. A wallet cannot be overdrawn."""
        return await box.mutate(lambda uow: wallets.create_wallet(uow, currency, name), WalletResult.of)

    async def get_wallet(wallet_id: WalletId) -> Wallet:
        """Read one wallet's balances: posted (booked), pending (reserved by holds) and available to spend."""
        return Wallet.of(await box.read(lambda uow: wallets.get_wallet(uow, wallet_id), snapshot=False))

    async def list_wallets(limit: Limit = 20, cursor: Cursor = None) -> WalletList:
        """List wallets, oldest first, a page at a time; pass next_cursor back to continue."""
        return WalletList.of(await box.read(lambda uow: wallets.list_wallets(uow, cursor, limit), snapshot=False))

    async def fund_wallet(
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
        idempotency_key: IdempotencyKey = None,
    ) -> MovementResult:
        """Add money to a wallet: from outside the ledger (a top-up), or from a succeeded payment's proceeds
        (payment_id). Returns the journal transaction and the wallet's new balances."""
        if payment_id is not None:
            part = None if amount is None and amount_minor is None else AmountInput(amount, amount_minor)
            return await box.mutate(
                lambda uow: app.payments.fund_wallet(uow, wallet_id, payment_id, part, memo), MovementResult.of
            )
        if currency is None:
            raise InvalidInput("give the currency of the amount (e.g. USD), or a payment_id to fund from")
        money = parse_amount(amount, amount_minor, currency)
        return await box.mutate(lambda uow: wallets.fund(uow, wallet_id, money, memo), MovementResult.of)

    async def withdraw_from_wallet(
        wallet_id: WalletId,
        currency: CurrencyCode,
        amount: Amount = None,
        amount_minor: AmountMinor = None,
        memo: Memo = None,
        idempotency_key: IdempotencyKey = None,
    ) -> MovementResult:
        """Take money out of a wallet to outside the ledger (a payout). Fails with insufficient_funds, changing
        nothing, when the wallet's available balance is smaller."""
        money = parse_amount(amount, amount_minor, currency)
        return await box.mutate(lambda uow: wallets.withdraw(uow, wallet_id, money, memo), MovementResult.of)

    async def transfer_funds(
        source_wallet_id: WalletId,
        destination_wallet_id: WalletId,
        currency: CurrencyCode,
        amount: Amount = None,
        amount_minor: AmountMinor = None,
        memo: Memo = None,
        idempotency_key: IdempotencyKey = None,
    ) -> TransferResult:
        """Move money between two wallets atomically. `currency` is the source wallet's currency; when the
        destination holds another currency the amount is converted at the configured rate (see get_fx_quote)."""
        money = parse_amount(amount, amount_minor, currency)
        return await box.mutate(
            lambda uow: wallets.transfer(uow, source_wallet_id, destination_wallet_id, money, memo),
            TransferResult.of,
        )

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

    async def hold_funds(
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
        idempotency_key: IdempotencyKey = None,
    ) -> HoldResult:
        """Reserve money in a wallet without moving it: it stops being available until capture_hold moves it
        or release_hold (or expiry) gives it back."""
        money = parse_amount(amount, amount_minor, currency)
        ttl = timedelta(seconds=expires_in_seconds) if expires_in_seconds else None
        return await box.mutate(lambda uow: wallets.hold(uow, wallet_id, money, ttl, memo), HoldResult.of_placed)

    async def capture_hold(
        hold_id: HoldId,
        amount: Amount = None,
        amount_minor: AmountMinor = None,
        destination_wallet_id: Annotated[
            WalletId | None,
            Field(default=None, description="Wallet that receives the money; omit to pay out of the ledger."),
        ] = None,
        memo: Memo = None,
        idempotency_key: IdempotencyKey = None,
    ) -> HoldResult:
        """Capture an active hold, fully or in part (omit the amount for all of it). The uncaptured rest is
        released at once; a hold resolves only once."""
        partial = None if amount is None and amount_minor is None else AmountInput(amount, amount_minor)
        return await box.mutate(
            lambda uow: wallets.capture_hold(uow, hold_id, partial, destination_wallet_id, memo),
            HoldResult.of_captured,
        )

    async def release_hold(hold_id: HoldId, idempotency_key: IdempotencyKey = None) -> HoldResult:
        """Cancel an active hold and make its whole amount available again."""
        return await box.mutate(lambda uow: wallets.release_hold(uow, hold_id), HoldResult.of_released)

    async def get_wallet_statement(wallet_id: WalletId, limit: Limit = 20, cursor: Cursor = None) -> Statement:
        """The wallet's ledger entries, newest first, each with the balance after it and the other accounts of
        its transaction."""
        return Statement.of(await box.read(lambda uow: wallets.statement(uow, wallet_id, cursor, limit)))

    box.add(create_wallet, kind=ToolKind.WRITE, toolset="wallets", title="Create wallet")
    box.add(get_wallet, kind=ToolKind.READ, toolset="wallets", title="Get wallet")
    box.add(list_wallets, kind=ToolKind.READ, toolset="wallets", title="List wallets")
    box.add(fund_wallet, kind=ToolKind.MONEY, toolset="wallets", title="Fund wallet")
    box.add(withdraw_from_wallet, kind=ToolKind.MONEY, toolset="wallets", title="Withdraw", destructive=True)
    box.add(transfer_funds, kind=ToolKind.MONEY, toolset="wallets", title="Transfer funds", destructive=True)
    box.add(get_fx_quote, kind=ToolKind.READ, toolset="wallets", title="FX quote")
    box.add(hold_funds, kind=ToolKind.MONEY, toolset="wallets", title="Hold funds")
    box.add(capture_hold, kind=ToolKind.MONEY, toolset="wallets", title="Capture hold", destructive=True)
    box.add(release_hold, kind=ToolKind.MONEY, toolset="wallets", title="Release hold")
    box.add(get_wallet_statement, kind=ToolKind.READ, toolset="wallets", title="Wallet statement")
