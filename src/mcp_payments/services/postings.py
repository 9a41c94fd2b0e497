"""Posting a journal transaction and saying precisely why, when the ledger refuses it."""

from __future__ import annotations

from dataclasses import dataclass

from mcp_payments.domain import ledger
from mcp_payments.domain.fx import Conversion
from mcp_payments.domain.ledger import Account, JournalTransaction
from mcp_payments.services.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class Movement:
    transaction: JournalTransaction
    accounts: dict[str, Account]  # after the movement
    conversion: Conversion | None = None  # when the movement converted between currencies


async def post(uow: UnitOfWork, txn: JournalTransaction, conversion: Conversion | None = None) -> Movement:
    """Post `txn`; when it is refused, raise the domain error that explains it (insufficient funds ...)."""
    result = await uow.ledger.post(txn)
    if not result.applied:
        ledger.check_posting(result.before, txn)
        raise AssertionError("the database refused a posting the domain accepts")  # pragma: no cover
    return Movement(txn, ledger.apply(result.before, txn), conversion)
