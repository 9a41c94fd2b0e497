import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, bindparam, inspect, text

import mcp_payments.adapters.db.migrations as migrations
from mcp_payments.adapters.db import migrate, tables
from mcp_payments.adapters.db.engine import open_database
from mcp_payments.adapters.db.tables import UTCDateTime
from mcp_payments.bootstrap import build_services
from mcp_payments.config import Settings
from mcp_payments.domain import audit
from mcp_payments.services import witness
from mcp_payments.services.compliance import AuditService
from tests import databases
from tests.conftest import TEST_SECRETS
from tests.helpers import seal
from tests.services.wallet_calls import create_wallet

pytestmark = pytest.mark.anyio


async def test_migrations_build_exactly_the_schema_of_the_table_definitions(backend: str, tmp_path: Path) -> None:
    async with databases.fresh_database(backend, tmp_path, migrated=False) as url:
        db = open_database(url)
        try:
            assert await migrate.current_revision(db) is None
            await migrate.upgrade(db)

            def diff(conn: Connection) -> list[Any]:
                context = MigrationContext.configure(conn, opts={"compare_type": True})
                return list(compare_metadata(context, tables.metadata))

            async with db.writer.connect() as conn:
                differences = await conn.run_sync(diff)
                names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            assert await migrate.current_revision(db) == migrate.head_revision()
        finally:
            await db.dispose()

    assert differences == []
    assert names == set(tables.metadata.tables) | {"alembic_version"}


async def test_migrating_a_current_database_again_changes_nothing(backend: str, tmp_path: Path) -> None:
    async with databases.fresh_database(backend, tmp_path) as url:
        db = open_database(url)
        try:
            if backend == "sqlite":
                await migrate.upgrade(db)
            await migrate.upgrade(db)
            assert await migrate.current_revision(db) == migrate.head_revision()
        finally:
            await db.dispose()


def test_the_head_read_from_the_migration_files_is_alembic_s() -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    assert migrate.head_revision() == ScriptDirectory.from_config(config).get_current_head()


async def test_upgrading_a_database_with_sealed_records_keeps_its_chain_and_receipts(
    backend: str, tmp_path: Path
) -> None:
    """Records written before 0008 (their seq inside the hashed body) keep verifying, get ids, and the chain goes on."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    bodies = [
        {"seq": n, "at": at.isoformat(), "principal": "agent", "tool": "create_wallet", "entity_ids": [f"wal_{n}"]}
        for n in (1, 2)
    ]
    hashes = [audit.chain_hash(audit.GENESIS, bodies[0])]
    hashes.append(audit.chain_hash(hashes[0], bodies[1]))
    stored = {"wallet": {"id": "wal_2"}, "receipt": {"audit_seq": 2, "audit_hash": hashes[1]}}
    declined = {
        "__error__": {"code": "card_declined", "details": {"receipt": {"audit_seq": 1, "audit_hash": hashes[0]}}}
    }
    async with databases.fresh_database(backend, tmp_path, migrated=False) as url:
        db = open_database(url)
        try:
            await migrate.upgrade(db, "0007")
            async with db.writer.begin() as conn:
                insert = text(
                    "INSERT INTO audit_log (seq, at, principal, tool, record, prev_hash, hash) "
                    "VALUES (:seq, :at, 'agent', 'create_wallet', :record, :prev, :hash)"
                ).bindparams(bindparam("at", type_=UTCDateTime))
                for body, prev, digest in zip(bodies, [audit.GENESIS, hashes[0]], hashes, strict=True):
                    params = {"seq": body["seq"], "at": at, "record": audit.canonical_json(body), "prev": prev}
                    await conn.execute(insert, {**params, "hash": digest})
                await conn.execute(text("UPDATE audit_head SET seq = 2, hash = :hash"), {"hash": hashes[1]})
                keys = text(
                    "INSERT INTO idempotency_keys VALUES "
                    "(:principal, :key, 'create_wallet', 'h', '{}', :response, :at, :at)"
                ).bindparams(bindparam("at", type_=UTCDateTime))
                for key, response in (("k:1", stored), ("k:2", declined)):
                    await conn.execute(
                        keys, {"principal": "agent", "key": key, "response": json.dumps(response), "at": at}
                    )
            await migrate.upgrade(db)
            services = build_services(db, Settings(db_url=url, **TEST_SECRETS))
            service = services.get(AuditService)
            before = await services.calls.read(service.verify)
            await create_wallet(services)
            await seal(services)
            receipts = [
                witness.Receipt(f"aud_{2:026d}", audit.record_hash(bodies[1])),
                witness.ChainReceipt(1, hashes[0]),
            ]
            after = await services.calls.read(lambda uow: service.verify(uow, receipts))
            async with db.reader.connect() as conn:
                query = text("SELECT key, response FROM idempotency_keys ORDER BY key")
                responses = {key: json.loads(response) for key, response in await conn.execute(query)}
                ids = (await conn.execute(text("SELECT id, seq, prev_hash FROM audit_log ORDER BY seq"))).all()
        finally:
            await db.dispose()

    assert (before.valid, before.records_checked, before.head_seq, before.unsealed_records) == (True, 2, 2, 0)
    assert responses["k:1"]["receipt"] == {"audit_id": f"aud_{2:026d}", "record_hash": audit.record_hash(bodies[1])}
    assert responses["k:2"]["__error__"]["details"]["receipt"] == {
        "audit_id": f"aud_{1:026d}",
        "record_hash": audit.record_hash(bodies[0]),
    }
    assert [(r[0][:4], r[1]) for r in ids] == [("aud_", 1), ("aud_", 2), ("aud_", 3)]
    assert ids[2][2] == hashes[1], "the first record sealed after the upgrade follows the last one before it"
    assert (after.valid, after.records_checked, after.witness_problems) == (True, 3, [])
