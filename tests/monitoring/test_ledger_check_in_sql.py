"""check_ledger_integrity's SQL (adapters/db/journal_bindings.py, ledger_repo.account_findings) against the rules it
replaced: the database's digest of a journal transaction is audit.journal_digest's to the byte, only the wrong rows
come back, and the count past the listed problems is exact."""

from datetime import UTC, datetime
from typing import Any

import pytest
from mcp.client import Client

from mcp_payments.domain import audit
from tests.conftest import Stack
from tests.helpers import funded_wallet, ok
from tests.payments.agent import body_of
from tests.tamper import Sql, owner

pytestmark = pytest.mark.anyio


def quoted(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


async def forge(
    sql: Sql,
    txn: str,
    source: str,
    target: str,
    minor: int,
    *,
    kind: str,
    reference: str | None,
    at: datetime,
    pg: bool,
) -> str:
    """A balanced transaction of `minor` from source to target, its balances moved; returns its digest."""
    stored = at.strftime("%Y-%m-%d %H:%M:%S.%f") + ("+00" if pg else "")  # PostgreSQL: not the session's zone
    await sql(
        "INSERT INTO journal_transactions (id, kind, memo, created_at, reference) "
        f"VALUES ('{txn}', {quoted(kind)}, NULL, '{stored}', {quoted(reference)})"
    )
    await sql(
        "INSERT INTO entries (transaction_id, account_id, amount, currency) "
        f"VALUES ('{txn}', '{source}', {-minor}, 'USD'), ('{txn}', '{target}', {minor}, 'USD')"
    )
    await sql(f"UPDATE accounts SET posted = posted - {minor} WHERE id = '{source}'")
    await sql(f"UPDATE accounts SET posted = posted + {minor} WHERE id = '{target}'")
    entries = [(source, -minor, "USD"), (target, minor, "USD")]
    return audit.digest_of_journal(txn, kind, reference, at, entries)


async def bind(sql: Sql, record_id: str, bindings: list[list[str]]) -> None:
    """An (unsealed) audit record binding these transactions."""
    at = datetime(2026, 1, 2, tzinfo=UTC).isoformat()
    body = {"at": at, "principal": "someone", "tool": "transfer_funds", "journal": bindings}
    await sql(
        "INSERT INTO audit_log (id, at, principal, tool, record) "
        f"VALUES ('{record_id}', '2026-01-02 00:00:00.000000', 'someone', 'transfer_funds', "
        f"{quoted(audit.canonical_json(body))})"
    )


async def test_the_databases_digest_is_the_domains_for_every_kind_of_value(
    client: Client, stack: Stack, backend: str
) -> None:
    a, b = await funded_wallet(client, "50.00"), await funded_wallet(client, "0")
    plain, odd = "txn_01SQLDIGEST0000000000000001", "txn_01SQLDIGEST0000000000000002"

    async with owner(stack.settings.db_url) as sql:
        whole_second = await forge(
            sql,
            plain,
            a,
            b,
            100,
            kind="transfer",
            reference=None,
            at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            pg=backend == "postgresql",
        )
        quotes_and_accents = await forge(
            sql,
            odd,
            a,
            b,
            250,
            kind='we"ird\\kind',
            reference='ref "q" \\ ü ✓',
            at=datetime(2026, 1, 2, 3, 4, 5, 120, tzinfo=UTC),
            pg=backend == "postgresql",
        )
        await bind(sql, "aud_zzzzzzzzzzzzzzzzzzzzzzzzz1", [[plain, whole_second], [odd, quotes_and_accents]])
    sound = await ok(client, "check_ledger_integrity")
    async with owner(stack.settings.db_url) as sql:
        await sql(f"UPDATE journal_transactions SET reference = 'ref \"q\" \\ u ✓' WHERE id = '{odd}'")
    changed = await ok(client, "check_ledger_integrity")

    assert sound["ok"], sound["problems"]
    assert changed["problems"] == [
        f"transaction {odd} no longer matches audit record aud_zzzzzzzzzzzzzzzzzzzzzzzzz1: its entries, kind, "
        "reference or time were changed after it was posted"
    ]


async def test_entries_merged_into_one_whose_account_spells_them_are_caught(
    client: Client, stack: Stack, backend: str
) -> None:
    if backend == "postgresql":
        pytest.skip("PostgreSQL writes the entries as escaped JSON (and holds account ids of 40 characters at most)")
    a, b = await funded_wallet(client, "50.00"), await funded_wallet(client, "0")
    txn = "txn_01SQLDIGEST0000000000000003"
    async with owner(stack.settings.db_url) as sql:
        digest = await forge(
            sql,
            txn,
            a,
            b,
            100,
            kind="transfer",
            reference=None,
            at=datetime(2026, 1, 2, tzinfo=UTC),
            pg=backend == "postgresql",
        )
        await bind(sql, "aud_zzzzzzzzzzzzzzzzzzzzzzzzz1", [[txn, digest]])
        # SQLite lists entries between separators: one entry whose account holds them must not read as two.
        await sql(
            f"UPDATE entries SET account_id = '{a}' || char(31) || '-100' || char(31) || 'USD' || char(30) || "
            f"'{b}' WHERE transaction_id = '{txn}' AND account_id = '{b}'"
        )
        await sql(f"DELETE FROM entries WHERE transaction_id = '{txn}' AND account_id = '{a}'")

    report = await ok(client, "check_ledger_integrity")

    assert (
        f"transaction {txn} no longer matches audit record aud_zzzzzzzzzzzzzzzzzzzzzzzzz1: its entries, kind, "
        "reference or time were changed after it was posted"
    ) in report["problems"]


async def test_a_transaction_bound_by_a_second_record_is_reported_once_per_extra_record(
    client: Client, stack: Stack, backend: str
) -> None:
    a, b = await funded_wallet(client, "50.00"), await funded_wallet(client, "0")
    moved = await ok(client, "transfer_funds", source_wallet_id=a, destination_wallet_id=b, currency="USD", amount="1")
    txn, record = moved["transaction"]["id"], moved["receipt"]["audit_id"]
    [[_, digest]] = [
        binding
        for binding in body_of(await client.call_tool("get_audit_log", {"tool": "transfer_funds"}))["records"][0][
            "journal"
        ]
        if binding[0] == txn
    ]

    async with owner(stack.settings.db_url) as sql:
        await bind(sql, "aud_zzzzzzzzzzzzzzzzzzzzzzzzz1", [[txn, digest]])
    report = await ok(client, "check_ledger_integrity")

    assert report["problems"] == [
        f"transaction {txn} is bound by two audit records ({record}, aud_zzzzzzzzzzzzzzzzzzzzzzzzz1)"
    ]


async def test_past_two_hundred_problems_the_rest_are_counted_exactly(
    client: Client, stack: Stack, backend: str
) -> None:
    a, b = await funded_wallet(client, "50.00"), await funded_wallet(client, "0")
    forged = [f"txn_01FORGED{n:019d}" for n in range(205)]

    async with owner(stack.settings.db_url) as sql:
        for txn in forged:
            await forge(
                sql,
                txn,
                a,
                b,
                1,
                kind="transfer",
                reference=None,
                at=datetime(2026, 1, 2, tzinfo=UTC),
                pg=backend == "postgresql",
            )
        await sql(f"UPDATE accounts SET pending = 7 WHERE id = '{b}'")  # one account problem besides
    report: dict[str, Any] = await ok(client, "check_ledger_integrity")

    assert len(report["problems"]) == 201
    assert report["problems"][0] == f"account {b}: cached pending 7 != active holds 0"
    assert report["problems"][1].startswith(f"transaction {forged[0]} has no audit record")
    assert report["problems"][-1] == "... and 6 more"
