"""Sanctions list versions, their entries, and screenings."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db.driver import Driver
from mcp_payments.adapters.db.tables import sanctions_entries, sanctions_lists, screenings
from mcp_payments.domain.sanctions import Dob, Entry
from mcp_payments.services.sanctions_ports import ListVersion, ScreeningRecord

_BATCH = 2000  # entries per INSERT: the real list is ~18k


class SqlSanctions:
    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self.conn = conn

    async def find_list(self, sha256: str) -> ListVersion | None:
        row = (await self.conn.execute(select(sanctions_lists).where(sanctions_lists.c.sha256 == sha256))).first()
        return _version(row) if row else None

    async def add_list(self, version: ListVersion, entries: Sequence[Entry]) -> None:
        await self.conn.execute(
            insert(sanctions_lists).values(
                id=version.id,
                sha256=version.sha256,
                row_count=version.row_count,
                entry_count=version.entry_count,
                loaded_at=version.loaded_at,
                loaded_by=version.loaded_by,
            )
        )
        rows = [_entry_row(version.id, e) for e in entries]
        for start in range(0, len(rows), _BATCH):
            await self.conn.execute(insert(sanctions_entries), rows[start : start + _BATCH])

    async def current_list(self) -> ListVersion | None:
        c = sanctions_lists.c
        row = (await self.conn.execute(select(sanctions_lists).order_by(c.loaded_at.desc(), c.id.desc()))).first()
        return _version(row) if row else None

    async def lists(self, limit: int) -> list[ListVersion]:
        c = sanctions_lists.c
        query = select(sanctions_lists).order_by(c.loaded_at.desc(), c.id.desc()).limit(limit)
        return [_version(row) for row in await self.conn.execute(query)]

    async def entries(self, list_id: str) -> list[Entry]:
        c = sanctions_entries.c
        rows = await self.conn.execute(select(sanctions_entries).where(c.list_id == list_id).order_by(c.ent_num))
        return [_entry(row) for row in rows]

    async def add_screening(self, r: ScreeningRecord) -> None:
        await self.conn.execute(
            insert(screenings).values(
                id=r.id,
                list_id=r.version.id,
                list_sha256=r.version.sha256,
                party_name=r.party.name,
                party_type=r.party.type.value,
                party_country=r.party.country,
                party_born=r.party.born.isoformat() if r.party.born else None,
                decision=r.decision.value,
                matches=json.dumps(r.matches, sort_keys=True),
                screened_at=r.screened_at,
                screened_by=r.screened_by,
            )
        )


def _version(row: Row[Any]) -> ListVersion:
    return ListVersion(row.id, row.sha256, row.row_count, row.entry_count, row.loaded_at, row.loaded_by)


def _entry_row(list_id: str | None, e: Entry) -> dict[str, Any]:
    dobs = [[d.year_from, d.year_to, d.month, d.day] for d in e.dobs]
    return {
        "list_id": list_id,
        "ent_num": e.ent_num,
        "name": e.name,
        "sdn_type": e.sdn_type,
        "program": e.program,
        "aliases": json.dumps(list(e.aliases)),
        "countries": json.dumps(list(e.countries)),
        "dobs": json.dumps(dobs),
    }


def _entry(row: Row[Any]) -> Entry:
    dobs = tuple(Dob(*d) for d in json.loads(row.dobs))
    return Entry(
        row.ent_num,
        row.name,
        row.sdn_type,
        row.program,
        tuple(json.loads(row.aliases)),
        tuple(json.loads(row.countries)),
        dobs,
    )
