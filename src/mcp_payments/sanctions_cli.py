"""`mcp-payments sanctions load DIR`: load a version of the sanctions list from the OFAC SDN CSV files.

The load is a command run under the principal cli:<OS user> (services/sanctions.py), so the audit chain records
who loaded which content. It is atomic (a malformed line changes nothing) and idempotent on the same content.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp_payments.config import Settings


def add_parser(sub: Any) -> None:
    sanctions = sub.add_parser("sanctions", help="load the sanctions list screen_party screens against")
    sanctions_sub = sanctions.add_subparsers(dest="sanctions_command", required=True)
    load = sanctions_sub.add_parser(
        "load", help="load a version from a directory holding the SDN CSV files (sdn.csv, alt.csv, add.csv)"
    )
    load.add_argument("directory", metavar="DIR", type=Path)
    listing = sanctions_sub.add_parser("list", help="list the loaded versions, newest (in use) first")
    for command in (load, listing):
        command.add_argument("--db", help="database URL")
        command.add_argument("--json", action="store_true", help="print JSON")


async def run(settings: Settings, args: argparse.Namespace) -> None:
    # Imported here: building the CLI's parser (every start, `serve` too) needs none of this.
    from mcp_payments.adapters.sanctions_files import read_dir
    from mcp_payments.bootstrap import application
    from mcp_payments.domain import sanctions
    from mcp_payments.keys_cli import administrator
    from mcp_payments.services.sanctions import Screening

    # Read and checked before the database is opened: a malformed list is one line and touches nothing.
    parsed = sanctions.parse(read_dir(args.directory)) if args.sanctions_command == "load" else None
    async with application(settings) as (_server, _box, services):
        screening = services.get(Screening)
        if parsed is not None:
            loaded = await screening.load_parsed(administrator(), parsed)
            v = loaded.version
            described = {**_described(v), "created": loaded.created}
            if args.json:
                print(json.dumps(described))
            elif loaded.created:
                print(f"loaded {v.id}: {v.entry_count} entries from {v.row_count} rows, sha256 {v.sha256}")
            else:
                print(f"already loaded as {v.id} on {_iso(v.loaded_at)} (sha256 {v.sha256}): nothing changed")
        else:
            versions = await services.calls.read(lambda uow: screening.versions(uow, 100))
            if args.json:
                print(json.dumps([_described(v) for v in versions]))
            elif not versions:
                print("no list loaded: screen_party uses the synthetic list shipped with mcp-payments")
            for v in [] if args.json else versions:
                print(f"{v.id}  {_iso(v.loaded_at)}  {v.entry_count:>6} entries  {v.sha256[:16]}  by {v.loaded_by}")


def _described(v: Any) -> dict[str, Any]:
    return {
        "id": v.id,
        "sha256": v.sha256,
        "row_count": v.row_count,
        "entry_count": v.entry_count,
        "loaded_at": _iso(v.loaded_at),
        "loaded_by": v.loaded_by,
    }


def _iso(at: Any) -> str | None:
    return at.isoformat() if at is not None else None
