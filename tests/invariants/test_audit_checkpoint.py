"""verify_audit_chain from the checkpoint of the last valid verification: what it re-reads, what it still catches,
and what only full=true catches (said in its `proves`)."""

import json
from typing import Any

import pytest
from mcp.client import Client

from mcp_payments.domain import audit
from tests.conftest import Stack
from tests.helpers import funded_wallet, ok, seal
from tests.tamper import owner

pytestmark = pytest.mark.anyio


async def sealed_history(client: Client, stack: Stack, wallets: int) -> None:
    for _ in range(wallets):
        await funded_wallet(client, "10.00")
    await seal(stack.services)


async def test_a_second_verification_recomputes_only_the_records_sealed_since(client: Client, stack: Stack) -> None:
    await sealed_history(client, stack, 2)
    first = await ok(client, "verify_audit_chain")
    await sealed_history(client, stack, 1)

    second = await ok(client, "verify_audit_chain")
    full = await ok(client, "verify_audit_chain", full=True)

    assert first["mode"] == "full", "no checkpoint yet: from genesis"
    assert first["verified_from_seq"] == 1
    assert first["records_checked"] == first["head_seq"]
    assert second["valid"]
    assert second["mode"] == "from_checkpoint"
    assert second["verified_from_seq"] == first["head_seq"] + 1
    assert second["records_checked"] == second["head_seq"] - first["head_seq"] > 0
    assert f"Records #{first['head_seq'] + 1} to #{second['head_seq']} were recomputed" in second["proves"]
    assert "shows only with full=true" in second["proves"]
    assert full["valid"]
    assert full["mode"] == "full"
    assert full["records_checked"] == full["head_seq"]
    assert "recomputed from genesis" in full["proves"]


async def test_an_older_record_changed_in_place_is_left_to_full_verification_which_catches_it(
    client: Client, stack: Stack
) -> None:
    await sealed_history(client, stack, 2)
    await ok(client, "verify_audit_chain")
    async with owner(stack.settings.db_url) as sql:
        [(text,)] = await sql("SELECT record FROM audit_log WHERE seq = 2")
        forged = audit.canonical_json(json.loads(text) | {"principal": "someone-else"})
        await sql(f"UPDATE audit_log SET record = '{forged}', principal = 'someone-else' WHERE seq = 2")

    resumed = await ok(client, "verify_audit_chain")
    full = await ok(client, "verify_audit_chain", full=True)

    assert resumed["valid"], "as its `proves` says: the records before the checkpoint are not read again"
    assert resumed["verified_from_seq"] > 2
    assert not full["valid"]
    assert full["first_broken_seq"] == 2
    assert full["checkpoint"] is None


async def test_a_rewritten_hash_at_or_before_the_checkpoint_is_caught_without_full(
    client: Client, stack: Stack
) -> None:
    await sealed_history(client, stack, 2)
    head = (await ok(client, "verify_audit_chain"))["head_seq"]
    async with owner(stack.settings.db_url) as sql:
        await sql(f"UPDATE audit_log SET hash = '{'f' * 64}' WHERE seq = {head}")

    verdict = await ok(client, "verify_audit_chain")

    assert not verdict["valid"]
    assert verdict["mode"] == "full", "a checkpoint the chain no longer holds is not started from"
    assert verdict["first_broken_seq"] == head
    [problem] = verdict["witness_problems"]
    assert problem.startswith("the checkpoint of the last verification (signed ")
    assert problem.endswith("the chain was rewritten")


async def test_records_cut_off_below_the_last_verified_head_are_reported(client: Client, stack: Stack) -> None:
    await sealed_history(client, stack, 2)
    head = (await ok(client, "verify_audit_chain"))["head_seq"]
    async with owner(stack.settings.db_url) as sql:
        [(previous_hash,)] = await sql(f"SELECT prev_hash FROM audit_log WHERE seq = {head}")
        await sql(f"DELETE FROM audit_log WHERE seq = {head}")
        await sql(f"UPDATE audit_head SET seq = {head - 1}, hash = '{previous_hash}' WHERE id = 1")

    verdict = await ok(client, "verify_audit_chain")

    assert not verdict["valid"]
    assert verdict["witness_problems"] == [
        f"the checkpoint of the last verification (signed {_signed_at(verdict)}) attests record #{head}, but the "
        f"chain now ends at #{head - 1}: records were removed"
    ]


def _signed_at(verdict: dict[str, Any]) -> str:
    return str(verdict["witness_problems"][0].split("(signed ", 1)[1].split(")", 1)[0])


async def test_a_stored_checkpoint_moved_forward_without_the_key_is_ignored(client: Client, stack: Stack) -> None:
    await sealed_history(client, stack, 2)
    await ok(client, "verify_audit_chain")
    async with owner(stack.settings.db_url) as sql:
        [(text,)] = await sql("SELECT record FROM audit_log WHERE seq = 1")
        forged = audit.canonical_json(json.loads(text) | {"tool": "forged"})
        await sql(f"UPDATE audit_log SET record = '{forged}', tool = 'forged' WHERE seq = 1")
        [(checkpoint,)] = await sql("SELECT detail FROM monitoring_marks WHERE name = 'audit_chain_verified'")
        prefix, body, signature = checkpoint.split(".")
        flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
        await sql(
            f"UPDATE monitoring_marks SET detail = '{prefix}.{body}.{flipped}' WHERE name = 'audit_chain_verified'"
        )

    verdict = await ok(client, "verify_audit_chain")

    assert verdict["mode"] == "full", "a checkpoint whose signature does not verify is not started from"
    assert not verdict["valid"]
    assert verdict["first_broken_seq"] == 1
