"""Sealing: calls append their audit records unsealed, with no shared lock; the sealer links them into the chain."""

import json
from dataclasses import replace
from datetime import timedelta

import anyio
import anyio.lowlevel
import pytest
from sqlalchemy import text

from mcp_payments.adapters.db.engine import open_database
from mcp_payments.bootstrap import build_services
from mcp_payments.config import Settings
from mcp_payments.domain import audit
from mcp_payments.services import sealing
from mcp_payments.services.compliance import AuditService, ChainVerdict
from mcp_payments.services.container import Services
from mcp_payments.services.job_runner import JobRunner
from mcp_payments.services.ports import JOBS, AuditRecord, Claim, UnitOfWork
from mcp_payments.services.witness import Receipt
from tests.conftest import TEST_SECRETS, FakeClock
from tests.helpers import seal
from tests.services.wallet_calls import create_wallet, fund, raw_connection, transfer
from tests.tamper import owner

pytestmark = pytest.mark.anyio


async def verify(services: Services) -> ChainVerdict:
    return await services.calls.read(services.get(AuditService).verify)


async def every_record(services: Services) -> list[AuditRecord]:
    return await services.calls.read(lambda uow: uow.audit.scan_all(None, 10_000))


async def test_a_call_appends_its_record_unsealed_and_the_sealer_links_it(services: Services) -> None:
    wallet = await create_wallet(services)

    [record] = await every_record(services)
    before = await verify(services)
    await seal(services)
    [sealed] = await every_record(services)
    after = await verify(services)

    assert record.id.startswith("aud_")
    assert record.record["id"] == record.id
    assert (record.seq, record.prev_hash, record.hash) == (None, None, None)
    assert wallet in record.record["entity_ids"]
    assert (before.valid, before.records_checked, before.head_seq, before.unsealed_records) == (True, 0, 0, 1)
    assert (sealed.seq, sealed.prev_hash) == (1, audit.GENESIS)
    assert sealed.hash == audit.chain_hash(audit.GENESIS, {**record.record, "seq": 1})
    assert (after.valid, after.records_checked, after.head_seq, after.head_hash) == (True, 1, 1, sealed.hash)
    assert after.unsealed_records == 0


async def test_records_are_sealed_in_id_order_each_linked_to_the_one_before(services: Services) -> None:
    a, b = await create_wallet(services), await create_wallet(services)
    await fund(services, a, "10.00")
    await transfer(services, a, b, "1.00")

    await seal(services)
    records = await every_record(services)

    assert [r.seq for r in records] == [1, 2, 3, 4]
    assert [r.prev_hash for r in records] == [audit.GENESIS, *(r.hash for r in records[:-1])]
    assert (await verify(services)).records_checked == 4


async def test_a_record_that_commits_after_later_ones_were_sealed_is_still_sealed(
    services: Services, fake_clock: FakeClock
) -> None:
    await create_wallet(services)
    await seal(services)
    # A record with a smaller id than the one sealed: its call began first and committed last.
    late_id = "aud_00000000000000000000000000"
    body = {"id": late_id, "at": fake_clock.now().isoformat(), "principal": "p", "tool": "t"}
    await services.calls.write(lambda uow: uow.audit.append(AuditRecord(late_id, body)))
    await seal(services)
    verdict = await verify(services)

    sealed = {r.id: r.seq for r in await every_record(services)}
    assert sealed[late_id] == 2
    assert (verdict.valid, verdict.records_checked, verdict.unsealed_records) == (True, 2, 0)


async def test_a_sealed_record_cannot_be_changed_or_sealed_again_and_no_record_can_be_deleted(
    services: Services,
) -> None:
    await create_wallet(services)
    await seal(services)
    [record] = await every_record(services)

    for statement in (
        "UPDATE audit_log SET record = '{}'",
        "UPDATE audit_log SET seq = 7, prev_hash = hash",
        "UPDATE audit_log SET seq = NULL, prev_hash = NULL, hash = NULL",
        "DELETE FROM audit_log",
    ):
        async with raw_connection(services) as conn:
            with pytest.raises(Exception, match="append-only"):
                await conn.execute(text(statement))
            await conn.rollback()

    assert await every_record(services) == [record]


async def test_an_unsealed_record_can_be_sealed_but_nothing_else_changed(services: Services) -> None:
    await create_wallet(services)

    async with raw_connection(services) as conn:
        with pytest.raises(Exception, match="append-only"):
            await conn.execute(text("UPDATE audit_log SET seq = 1, prev_hash = 'a', hash = 'b', tool = 'other'"))
        await conn.rollback()
    await seal(services)

    assert (await verify(services)).valid


async def test_a_sealer_that_finds_nothing_records_no_run(services: Services) -> None:
    await seal(services)
    await seal(services)

    runs = await services.calls.read(lambda uow: uow.repo(JOBS).last_runs([sealing.SEALER]))
    assert runs == {}


async def test_two_sealers_in_two_processes_never_fork_the_chain_or_seal_a_record_twice(
    services: Services, db_url: str
) -> None:
    """Two sets of services on their own engines (as two processes), sealing while calls append."""
    other_db = open_database(db_url)
    other = build_services(other_db, Settings(db_url=db_url, **TEST_SECRETS))
    small = replace(sealing.JOB, batch=7)  # many seals, so that the two sealers meet often
    try:
        wallets = [await create_wallet(services) for _ in range(4)]
        for wallet in wallets:
            await fund(services, wallet, "100.00")
        done = anyio.Event()

        async def calls(worker: Services, source: str, target: str) -> None:
            for _ in range(30):
                await transfer(worker, source, target, "0.01")

        async def sealer(worker: Services) -> None:
            runner = worker.get(JobRunner)
            while not done.is_set():
                await runner.run(small)
                await anyio.lowlevel.checkpoint()

        with anyio.fail_after(120):
            async with anyio.create_task_group() as sealers:
                sealers.start_soon(sealer, services)
                sealers.start_soon(sealer, other)
                async with anyio.create_task_group() as callers:
                    callers.start_soon(calls, services, wallets[0], wallets[1])
                    callers.start_soon(calls, other, wallets[2], wallets[3])
                    callers.start_soon(calls, services, wallets[1], wallets[2])
                    callers.start_soon(calls, other, wallets[3], wallets[0])
                done.set()
        await seal(other)
        records = await every_record(services)
        verdict = await verify(services)
    finally:
        await other_db.dispose()

    assert len(records) == 4 + 4 + 4 * 30
    assert sorted(r.seq for r in records) == list(range(1, len(records) + 1)), "every record sealed, once"
    assert (verdict.valid, verdict.records_checked, verdict.unsealed_records) == (True, len(records), 0)


async def test_a_receipt_of_an_unsealed_record_verifies_and_one_of_a_rewritten_record_does_not(
    services: Services, db_url: str
) -> None:
    await create_wallet(services)
    [record] = await every_record(services)
    receipt = Receipt(record.id, audit.record_hash(record.record))
    audit_service = services.get(AuditService)

    kept = await services.calls.read(lambda uow: audit_service.verify(uow, [receipt]))
    async with owner(db_url) as sql:
        changed = json.dumps({**record.record, "outcome": "forged"}).replace("'", "''")
        await sql(f"UPDATE audit_log SET record = '{changed}'")
    rewritten = await services.calls.read(lambda uow: audit_service.verify(uow, [receipt]))

    assert kept.valid
    assert kept.unsealed_records == 1
    assert not rewritten.valid
    [problem] = rewritten.witness_problems
    assert problem.startswith(f"receipt {record.id} attests a record hashing to {receipt.record_hash[:16]}")
    assert problem.endswith("the record was rewritten")


async def test_the_sealers_claim_leaves_out_records_held_back_by_failures_or_handled_in_this_pass(
    services: Services, fake_clock: FakeClock
) -> None:
    for _ in range(5):
        await create_wallet(services)
    ids = [r.id for r in await every_record(services)]
    now = fake_clock.now()

    async def hold(uow: UnitOfWork) -> None:
        jobs = uow.repo(JOBS)
        for item, retry_at in ((ids[0], None), (ids[1], now + timedelta(minutes=5)), (ids[2], now)):
            await jobs.fail(sealing.SEALER, item, "boom", now)
            await jobs.hold_back(sealing.SEALER, item, retry_at)  # parked, waiting for its retry, due again
        await jobs.fail("another_job", ids[3], "boom", now)
        await jobs.hold_back("another_job", ids[3], None)

    await services.calls.write(hold)

    async def claimed(claim: Claim) -> list[str]:
        return [r.id for r in await services.calls.read(lambda uow: uow.audit.unsealed(claim))]

    due = Claim(sealing.SEALER, now, limit=10)
    assert await claimed(due) == [ids[2], ids[3], ids[4]]
    assert await claimed(replace(due, waiting=True)) == [ids[1], ids[2], ids[3], ids[4]], "only parked ones are out"
    assert await claimed(replace(due, skip=frozenset({ids[3], "aud_unknown"}))) == [ids[2], ids[4]]
    assert await claimed(replace(due, limit=1)) == [ids[2]]
