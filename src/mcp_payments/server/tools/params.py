"""Argument types shared by the tools: each carries its own schema rules and description."""

from typing import Annotated, Final

from pydantic import Field

from mcp_payments.domain.money import MAX_AMOUNT


class FreeText:
    """Marks an argument as free text (a memo, a name): a card number typed into it is masked before anything
    keeps, logs or echoes it. Nothing else is ever rewritten: ids and idempotency keys are compared exactly."""

    def __repr__(self) -> str:
        return "FREE_TEXT"


FREE_TEXT: Final = FreeText()

ID_CHARS = "[0-9A-Za-z_]{1,40}"

WalletId = Annotated[
    str,
    Field(
        pattern=f"^wal_{ID_CHARS}$",
        max_length=44,
        description="A wallet id as returned by create_wallet, e.g. wal_01JB...",
    ),
]
HoldId = Annotated[
    str,
    Field(
        pattern=f"^hld_{ID_CHARS}$",
        max_length=44,
        description="A hold id as returned by hold_funds, e.g. hld_01JB...",
    ),
]
MandateId = Annotated[
    str | None,
    Field(
        default=None,
        pattern=f"^mdt_{ID_CHARS}$",
        max_length=44,
        description="Pay under this mandate (mdt_..., see list_mandates) instead of your spending policy: the call "
        "must fit the mandate's currency, payees, maximum per payment and what is left of it, and debits it.",
    ),
]
CurrencyCode = Annotated[str, Field(pattern="^[A-Za-z]{3}$", description="ISO 4217 currency code, e.g. USD, EUR, JPY.")]
Amount = Annotated[
    str | None,
    Field(
        default=None,
        min_length=1,
        max_length=40,
        description='Amount as a decimal string in major units, e.g. "12.34". No more decimals than the currency '
        "has (JPY 0, USD 2, KWD 3). Give this or amount_minor, not both.",
    ),
]
AmountMinor = Annotated[
    int | None,
    Field(
        default=None,
        strict=True,
        ge=1,
        le=MAX_AMOUNT,
        description="Amount as an integer of minor units, e.g. 1234 for 12.34 USD. Give this or amount.",
    ),
]
Memo = Annotated[
    str | None,
    Field(default=None, min_length=1, max_length=500, description="A note stored with the transaction."),
    FREE_TEXT,
]
Name = Annotated[
    str | None, Field(default=None, min_length=1, max_length=200, description="A human-readable label."), FREE_TEXT
]
Description = Annotated[str | None, Field(default=None, min_length=1, max_length=500), FREE_TEXT]
IdempotencyKey = Annotated[
    str | None,
    Field(
        default=None,
        min_length=8,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Optional key that makes a retry safe: the same key with the same arguments returns the first "
        "result instead of acting twice (kept 24 h). Without one, identical calls within a short window "
        "are deduplicated.",
    ),
]
Limit = Annotated[int, Field(default=20, strict=True, ge=1, le=100, description="Page size, 1-100.")]
Cursor = Annotated[
    str | None,
    Field(
        default=None,
        min_length=1,
        max_length=200,
        description="next_cursor from the previous page; omit for the first page.",
    ),
]
