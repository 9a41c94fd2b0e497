"""Tampering by someone who can bypass the append-only triggers as the database's owner (issue: defect 6).

The journal and the audit chain vouch for each other (each audit record binds the journal transactions
its call caused), and what the database alone cannot show, that its newest records were cut off, is
shown by a witness kept outside it: a receipt or a signed checkpoint.
"""

from typing import Any

import pytest
from mcp.client import Client

from tests.conftest import Stack
from tests.helpers import funded_wallet, ok, seal
from tests.payments.agent import body_of
from tests.tamper import owner

pytestmark = pytest.mark.anyio


async def transfer(client: Client, source: str, destination: str, amount: str) -> dict[str, Any]:
    return await ok(
        client,
        "transfer_funds",
        source_wallet_id=source,
        destination_wallet_id=destination,
        currency="USD",
        amount=amount,
    )


async def integrity(client: Client) -> dict[str, Any]:
    return await ok(client, "check_ledger_integrity")


async def cut_off_newest(stack: Stack, seq: int) -> None:
    """Remove audit record `seq`, the newest, and move the head back to the one before: the chain still verifies."""
    await seal(stack.services)
    async with owner(stack.settings.db_url) as sql:
        [(previous_hash,)] = await sql(f"SELECT prev_hash FROM audit_log WHERE seq = {seq}")
        await sql(f"DELETE FROM audit_log WHERE seq = {seq}")
        await sql(f"UPDATE audit_head SET seq = {seq - 1}, hash = '{previous_hash}' WHERE id = 1")


async def sealed_at(stack: Stack, receipt: dict[str, Any]) -> int:
    """Seal, then the place in the chain of the record `receipt` names."""
    await seal(stack.services)
    [record] = (await stack.services.calls.read(lambda uow: uow.audit.by_ids([receipt["audit_id"]]))).values()
    assert record.seq is not None
    return record.seq


async def test_an_untouched_history_is_sound_in_both_directions(client: Client, stack: Stack) -> None:
    a, b = await funded_wallet(client, "50.00"), await funded_wallet(client, "0")
    moved = await transfer(client, a, b, "20.00")

    before_sealing = await integrity(client)
    await seal(stack.services)
    report = await integrity(client)
    log = body_of(await client.call_tool("get_audit_log", {"tool": "transfer_funds"}))

    assert before_sealing["ok"], "a record waiting to be sealed binds its transaction all the same"
    assert report["ok"], report["problems"]
    [record] = log["records"]
    assert [binding[0] for binding in record["journal"]] == [moved["transaction"]["id"]]
    assert moved["receipt"] == {"audit_id": record["audit_id"], "record_hash": record["record_hash"]}
    assert record["seq"] is not None


async def test_removing_the_newest_record_and_moving_the_head_back_is_caught_by_a_receipt_and_a_checkpoint(
    client: Client, stack: Stack
) -> None:
    await funded_wallet(client, "10.00")
    await seal(stack.services)
    checkpoint = (await ok(client, "verify_audit_chain"))["checkpoint"]
    newest = await ok(client, "create_wallet", currency="EUR", name="last")  # moves no money: nothing in the journal
    seq = await sealed_at(stack, newest["receipt"])

    await cut_off_newest(stack, seq)

    alone = await ok(client, "verify_audit_chain")
    with_receipt = await ok(client, "verify_audit_chain", receipts=[newest["receipt"]])
    later_checkpoint = alone["checkpoint"]

    assert alone["valid"], "a cut-off chain verifies on its own: that is why witnesses exist"
    assert not with_receipt["valid"]
    assert with_receipt["witness_problems"] == [
        f"receipt {newest['receipt']['audit_id']}: the record is missing from the audit log: records were removed"
    ]
    assert with_receipt["checkpoint"] is None, "nothing unsound is signed"
    # The checkpoint taken before the cut still holds (its record is there); one taken of the cut chain too.
    both = await ok(client, "verify_audit_chain", checkpoints=[checkpoint, later_checkpoint])
    assert both["valid"], both["witness_problems"]


async def test_a_checkpoint_of_a_head_that_was_cut_off_fails(client: Client, stack: Stack) -> None:
    await funded_wallet(client, "10.00")
    await ok(client, "create_wallet", currency="EUR")
    await seal(stack.services)
    head = await ok(client, "verify_audit_chain")

    seq = head["head_seq"]
    await cut_off_newest(stack, seq)

    verdict = await ok(client, "verify_audit_chain", checkpoints=[head["checkpoint"]])
    assert not verdict["valid"]
    [problem] = verdict["witness_problems"]
    assert f"attests record #{seq}, but the chain now ends at #{seq - 1}: records were removed" in problem


async def test_a_forged_or_altered_checkpoint_is_refused(client: Client) -> None:
    checkpoint = (await ok(client, "verify_audit_chain"))["checkpoint"]
    prefix, body, signature = checkpoint.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]

    verdict = await ok(client, "verify_audit_chain", checkpoints=[f"{prefix}.{body}.{flipped}", "nonsense"])

    assert not verdict["valid"]
    assert verdict["witness_problems"] == [
        "checkpoint 1 has a signature that does not verify: it was altered, or not signed with this deployment's key",
        "checkpoint 2 is not a checkpoint (expected ckpt1.<body>.<signature>)",
    ]


async def test_removing_the_newest_record_of_a_money_call_leaves_its_transaction_unaudited(
    client: Client, stack: Stack
) -> None:
    a, b = await funded_wallet(client, "50.00"), await funded_wallet(client, "0")
    moved = await transfer(client, a, b, "5.00")
    seq = await sealed_at(stack, moved["receipt"])

    await cut_off_newest(stack, seq)
    report = await integrity(client)

    assert not report["ok"]
    txn = moved["transaction"]["id"]
    assert report["problems"] == [
        f"transaction {txn} has no audit record: it was not posted through this server, or its audit record was removed"
    ]


async def test_a_transfer_changed_together_with_both_balances_no_longer_matches_its_record(
    client: Client, stack: Stack
) -> None:
    a, b = await funded_wallet(client, "50.00"), await funded_wallet(client, "0")
    moved = await transfer(client, a, b, "5.00")
    txn, record = moved["transaction"]["id"], moved["receipt"]["audit_id"]

    # Every sum still adds up: both entries and both cached balances move by the same 3.00.
    async with owner(stack.settings.db_url) as sql:
        await sql(f"UPDATE entries SET amount = amount - 300 WHERE transaction_id = '{txn}' AND account_id = '{a}'")
        await sql(f"UPDATE entries SET amount = amount + 300 WHERE transaction_id = '{txn}' AND account_id = '{b}'")
        await sql(f"UPDATE accounts SET posted = posted - 300 WHERE id = '{a}'")
        await sql(f"UPDATE accounts SET posted = posted + 300 WHERE id = '{b}'")
    report = await integrity(client)

    assert not report["ok"]
    assert report["problems"] == [
        f"transaction {txn} no longer matches audit record {record}: its entries, kind, reference or time were "
        "changed after it was posted"
    ]


async def test_a_transfer_deleted_with_its_entries_and_balances_restored_is_missed_by_its_record(
    client: Client, stack: Stack
) -> None:
    a, b = await funded_wallet(client, "50.00"), await funded_wallet(client, "0")
    moved = await transfer(client, a, b, "5.00")
    txn, record = moved["transaction"]["id"], moved["receipt"]["audit_id"]

    async with owner(stack.settings.db_url) as sql:
        await sql(f"DELETE FROM entries WHERE transaction_id = '{txn}'")
        await sql(f"DELETE FROM journal_transactions WHERE id = '{txn}'")
        await sql(f"UPDATE accounts SET posted = posted + 500 WHERE id = '{a}'")
        await sql(f"UPDATE accounts SET posted = posted - 500 WHERE id = '{b}'")
    report = await integrity(client)

    assert not report["ok"]
    assert report["problems"] == [
        f"audit record {record} binds transaction {txn}, which is missing from the journal (deleted?)"
    ]


async def test_a_forged_balanced_transaction_with_no_audit_record_is_caught(client: Client, stack: Stack) -> None:
    a, b = await funded_wallet(client, "50.00"), await funded_wallet(client, "0")
    forged = "txn_01FORGED0000000000000000000"

    async with owner(stack.settings.db_url) as sql:
        await sql(
            "INSERT INTO journal_transactions (id, kind, memo, created_at, reference) "
            f"VALUES ('{forged}', 'transfer', NULL, '2026-01-02 00:00:00.000000', NULL)"
        )
        await sql(
            "INSERT INTO entries (transaction_id, account_id, amount, currency) "
            f"VALUES ('{forged}', '{a}', -1000, 'USD'), ('{forged}', '{b}', 1000, 'USD')"
        )
        await sql(f"UPDATE accounts SET posted = posted - 1000 WHERE id = '{a}'")
        await sql(f"UPDATE accounts SET posted = posted + 1000 WHERE id = '{b}'")
    report = await integrity(client)

    assert not report["ok"]
    assert report["problems"] == [
        f"transaction {forged} has no audit record: it was not posted through this server, or its audit record "
        "was removed"
    ]
