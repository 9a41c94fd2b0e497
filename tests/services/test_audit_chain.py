import json

import pytest
from sqlalchemy import text

from mcp_payments.domain import audit
from mcp_payments.domain.errors import InsufficientFunds
from mcp_payments.services.compliance import AuditService, ChainVerdict
from mcp_payments.services.container import Services
from mcp_payments.services.ports import AuditRecord
from tests.conftest import FakeClock
from tests.helpers import seal
from tests.services.wallet_calls import (
    PRINCIPAL,
    create_wallet,
    fund,
    raw_connection,
    row_counts,
    transfer,
    withdraw,
)

pytestmark = pytest.mark.anyio


async def verify(services: Services) -> ChainVerdict:
    return await services.calls.read(services.get(AuditService).verify)


async def records(services: Services) -> list[AuditRecord]:
    """The chain, once every record is sealed (the sealer does it within a second in serve)."""
    await seal(services)
    return await services.calls.read(lambda uow: uow.audit.scan(0, 1000))


async def allow_tampering(services: Services, backend: str) -> None:
    """Switch off the append-only triggers, as someone with direct database access could."""
    async with raw_connection(services) as conn:
        if backend == "sqlite":
            await conn.execute(text("DROP TRIGGER audit_log_no_update"))
            await conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            await conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        await conn.commit()


async def tamper(services: Services, backend: str, statement: str, **params: object) -> None:
    await allow_tampering(services, backend)
    async with raw_connection(services) as conn:
        await conn.execute(text(statement), params)
        await conn.commit()


async def four_calls(services: Services) -> tuple[str, str]:
    a = await create_wallet(services)
    b = await create_wallet(services)
    await fund(services, a, "10.00")
    await transfer(services, a, b, "4.00")
    await seal(services)
    return a, b


async def test_an_empty_chain_verifies(services: Services) -> None:
    verdict = await verify(services)

    assert (verdict.valid, verdict.records_checked, verdict.first_broken_seq) == (True, 0, None)
    assert (verdict.head_seq, verdict.head_hash, verdict.witness_problems) == (0, audit.GENESIS, [])
    assert verdict.checkpoint is not None, "even an empty chain's head is signed: nothing may be added before it"


async def test_every_mutating_call_appends_one_record_to_the_chain(services: Services, fake_clock: FakeClock) -> None:
    a, b = await four_calls(services)

    chain = await records(services)

    assert [r.seq for r in chain] == [1, 2, 3, 4]
    assert [r.record["tool"] for r in chain] == ["create_wallet", "create_wallet", "fund_wallet", "transfer_funds"]
    transfer_record = chain[3].record
    assert transfer_record["principal"] == PRINCIPAL
    assert transfer_record["outcome"] == "ok"
    assert transfer_record["at"] == fake_clock.now().isoformat()
    assert a in transfer_record["entity_ids"]
    assert b in transfer_record["entity_ids"]
    assert any(i.startswith("txn_") for i in transfer_record["entity_ids"])


async def test_an_audit_record_stores_a_hash_of_the_arguments_not_their_values(services: Services) -> None:
    wallet_id = await create_wallet(services)
    await fund(services, wallet_id, "10.00")

    record = (await records(services))[-1].record

    arguments = {"wallet_id": wallet_id, "currency": "USD", "amount": "10.00"}
    assert record["arguments_sha256"] == audit.keyed_argument_hash(services.calls.audit_key, arguments)
    # Keyed: a guess of the arguments cannot be checked against the record without the deployment's key.
    assert record["arguments_sha256"] != audit.argument_hash(arguments)
    assert "10.00" not in json.dumps(record)


async def test_each_record_links_to_the_previous_hash_from_genesis(services: Services) -> None:
    await four_calls(services)

    chain = await records(services)

    previous = audit.GENESIS
    for r in chain:
        assert r.prev_hash == previous
        assert r.hash == audit.chain_hash(previous, {**r.record, "seq": r.seq})
        previous = r.hash


async def test_a_clean_chain_verifies_up_to_its_head(services: Services) -> None:
    await four_calls(services)

    verdict = await verify(services)

    assert verdict.valid
    assert (verdict.records_checked, verdict.first_broken_seq, verdict.head_seq) == (4, None, 4)
    assert verdict.head_hash == (await records(services))[-1].hash


async def test_a_replayed_or_rejected_call_appends_nothing(services: Services) -> None:
    wallet_id = await create_wallet(services)
    await fund(services, wallet_id, "1.00", key="fund-once")
    await fund(services, wallet_id, "1.00", key="fund-once")
    with pytest.raises(InsufficientFunds):
        await withdraw(services, wallet_id, "5.00")

    assert (await row_counts(services))["audit_log"] == 2
    assert (await verify(services)).valid


async def test_changing_a_stored_record_breaks_the_chain_at_that_record(services: Services, backend: str) -> None:
    await four_calls(services)
    forged = (await records(services))[1].record | {"principal": "someone-else"}

    await tamper(
        services, backend, "UPDATE audit_log SET record = :record WHERE seq = 2", record=audit.canonical_json(forged)
    )
    verdict = await verify(services)

    assert not verdict.valid
    assert verdict.first_broken_seq == 2
    assert verdict.records_checked == 1


async def test_recomputing_the_hash_of_a_changed_record_breaks_the_chain_at_the_next_one(
    services: Services, backend: str
) -> None:
    await four_calls(services)
    chain = await records(services)
    forged = chain[1].record | {"entity_ids": []}

    await tamper(
        services,
        backend,
        "UPDATE audit_log SET record = :record, hash = :hash WHERE seq = 2",
        record=audit.canonical_json(forged),
        hash=audit.chain_hash(str(chain[0].hash), {**forged, "seq": 2}),
    )

    assert (await verify(services)).first_broken_seq == 3


async def test_deleting_a_stored_record_breaks_the_chain_where_it_was(services: Services, backend: str) -> None:
    await four_calls(services)

    await tamper(services, backend, "DELETE FROM audit_log WHERE seq = 3")
    verdict = await verify(services)

    assert not verdict.valid
    assert verdict.first_broken_seq == 3


async def test_deleting_the_newest_record_breaks_the_chain_at_the_head(services: Services, backend: str) -> None:
    await four_calls(services)

    await tamper(services, backend, "DELETE FROM audit_log WHERE seq = 4")
    verdict = await verify(services)

    assert not verdict.valid
    assert verdict.first_broken_seq == 4


@pytest.mark.parametrize("column", ["tool", "principal"])
async def test_changing_a_stored_records_indexed_column_breaks_the_chain_at_that_record(
    services: Services, backend: str, column: str
) -> None:
    await four_calls(services)

    await tamper(services, backend, f"UPDATE audit_log SET {column} = 'forged' WHERE seq = 2")
    verdict = await verify(services)

    assert not verdict.valid
    assert verdict.first_broken_seq == 2
