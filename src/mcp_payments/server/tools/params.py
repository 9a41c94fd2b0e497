"""Argument types shared by the tools: each carries its own schema rules and description."""

from typing import Annotated

from pydantic import Field

from mcp_payments.domain.money import MAX_MINOR

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
        le=MAX_MINOR,
        description="Amount as an integer of minor units, e.g. 1234 for 12.34 USD. Give this or amount.",
    ),
]
Memo = Annotated[
    str | None,
    Field(default=None, min_length=1, max_length=500, description="A note stored with the transaction."),
]
Name = Annotated[str | None, Field(default=None, min_length=1, max_length=200, description="A human-readable label.")]
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
