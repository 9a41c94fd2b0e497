from datetime import UTC, datetime

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import insert, text

from mcp_payments.adapters.db import tables
from mcp_payments.services.container import Services
from tests.services.wallet_calls import assert_ledger_sound, create_wallet, fund, raw_connection, row_counts, transfer

pytestmark = pytest.mark.anyio


async def some_history(services: Services) -> None:
    a = await create_wallet(services)
    b = await create_wallet(services)
    await fund(services, a, "10.00")
    await transfer(services, a, b, "4.00")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE entries SET amount = amount + 1",
        "UPDATE entries SET account_id = account_id",
        "DELETE FROM entries",
        "UPDATE journal_transactions SET kind = 'rewritten'",
        "UPDATE journal_transactions SET reference = 'pay_other'",
        "UPDATE journal_transactions SET memo = 'rewritten', kind = 'other'",
        "DELETE FROM journal_transactions",
        "UPDATE audit_log SET principal = 'someone-else'",
        "DELETE FROM audit_log",
    ],
)
async def test_the_database_refuses_to_change_or_remove_journal_and_audit_rows(
    services: Services, statement: str
) -> None:
    await some_history(services)
    before = await row_counts(services)

    async with raw_connection(services) as conn:
        with pytest.raises(sa_exc.DBAPIError, match="append-only"):
            await conn.execute(text(statement))
        await conn.rollback()

    assert await row_counts(services) == before
    await assert_ledger_sound(services)


async def test_a_journal_memo_alone_may_be_rewritten_the_erasure_of_personal_data_in_it(services: Services) -> None:
    """Migration 0019: the memo is free text that may name a person; the digests the audit chain binds leave it out,
    so rewriting it changes neither the books nor the chain."""
    await some_history(services)

    async with raw_connection(services) as conn:
        await conn.execute(text("UPDATE journal_transactions SET memo = 'erased'"))
        await conn.commit()

    await assert_ledger_sound(services)


async def test_new_journal_rows_can_still_be_appended_directly(services: Services) -> None:
    await some_history(services)

    async with raw_connection(services) as conn:
        await conn.execute(
            insert(tables.journal_transactions).values(id="txn_x", kind="manual", created_at=datetime.now(UTC))
        )
        await conn.commit()

    assert (await row_counts(services))["journal_transactions"] == 3
