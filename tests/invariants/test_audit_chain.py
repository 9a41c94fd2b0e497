"""DESIGN §7 invariant 9: the audit chain verifies from genesis; changing any stored record breaks it there."""

import pytest
from sqlalchemy import text

from mcp_payments.domain import audit
from mcp_payments.services.compliance import AuditService
from mcp_payments.services.container import Services
from tests.helpers import seal
from tests.services.wallet_calls import create_wallet, fund, hold, raw_connection, release, transfer, withdraw

pytestmark = pytest.mark.anyio

RECORDS = 8


async def history(services: Services) -> None:
    a = await create_wallet(services)
    b = await create_wallet(services)
    await fund(services, a, "10.00")
    await transfer(services, a, b, "2.00")
    await withdraw(services, b, "1.00")
    hold_id = await hold(services, a, "1.00")
    await release(services, hold_id)
    await fund(services, b, "3.00")
    await seal(services)  # as the sealer does within a second


async def test_the_chain_of_a_whole_history_verifies_from_genesis(services: Services) -> None:
    await history(services)

    verdict = await services.calls.read(services.get(AuditService).verify)

    assert verdict.valid
    assert (verdict.records_checked, verdict.head_seq) == (RECORDS, RECORDS)
    first = (await services.calls.read(lambda uow: uow.audit.scan(0, 1)))[0]
    assert first.prev_hash == audit.GENESIS


@pytest.mark.parametrize("seq", range(1, RECORDS + 1))
async def test_changing_any_stored_record_breaks_the_chain_at_its_index(
    services: Services, backend: str, seq: int
) -> None:
    await history(services)
    stored = (await services.calls.read(lambda uow: uow.audit.scan(seq - 1, 1)))[0]
    forged = audit.canonical_json(stored.record | {"outcome": "forged"})

    async with raw_connection(services) as conn:
        if backend == "sqlite":
            await conn.execute(text("DROP TRIGGER audit_log_no_update"))
        else:
            await conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        await conn.execute(
            text("UPDATE audit_log SET record = :record WHERE seq = :seq"), {"record": forged, "seq": seq}
        )
        await conn.commit()
    verdict = await services.calls.read(services.get(AuditService).verify)

    assert not verdict.valid
    assert verdict.first_broken_seq == seq
    assert verdict.records_checked == seq - 1
