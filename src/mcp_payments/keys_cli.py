"""`mcp-payments keys create | list | revoke`: API keys, administered by whoever can open the database.

Each change is a command run under the principal cli:<OS user> (services/keys.py), so the audit chain
records who created or revoked which key. A new key is printed once, on stdout; only its SHA-256 is kept.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta

from mcp_payments.bootstrap import application
from mcp_payments.config import Settings
from mcp_payments.domain.api_keys import ApiKey
from mcp_payments.domain.roles import Role
from mcp_payments.server.callers import local_user
from mcp_payments.services.keys import KeyService, described

COLUMNS = ("id", "name", "role", "status", "created", "expires", "revoked", "last used")


def administrator() -> str:
    """Who administers from this command line, as the audit chain records it."""
    return f"cli:{local_user()}"


async def run(settings: Settings, args: argparse.Namespace, lifetime: timedelta | None) -> None:
    async with application(settings) as (_server, _box, services):
        keys = services.get(KeyService)
        now = services.clock.now()
        match args.keys_command:
            case "create":
                issued = await keys.issue(administrator(), args.name, Role(args.role), lifetime)
                if args.json:
                    print(json.dumps({"key": issued.text, **described(issued.key)}))
                else:
                    _print_created(issued.text, issued.key)
            case "list":
                listed = await keys.all()
                if args.json:
                    print(json.dumps([_listed(key, now) for key in listed]))
                else:
                    _print_table(listed, now)
            case "revoke":
                revoked = await keys.revoke(administrator(), args.key_id)
                print(f"revoked {revoked.id} ({revoked.name}, {revoked.role}): refused from the next request on")


def _print_created(text: str, key: ApiKey) -> None:
    print(f"key:     {text}")
    print(f"id:      {key.id}")
    print(f"name:    {key.name} (principal key:{key.name})")
    print(f"role:    {key.role}")
    print(f"expires: {_when(key.expires_at) or 'never (until revoked)'}")
    print(
        "mcp-payments: the key is shown this once and only its hash is kept: store it now, and send it as "
        "`Authorization: Bearer <key>` (or set MCP_PAYMENTS_API_KEY for stdio)",
        file=sys.stderr,
    )


def _listed(key: ApiKey, now: datetime) -> dict[str, object]:
    return {**described(key), "status": key.status(now).value, "last_used_at": _iso(key.last_used_at)}


def _print_table(keys: list[ApiKey], now: datetime) -> None:
    if not keys:
        print("no API keys; create one with `mcp-payments keys create --name NAME --role agent`", file=sys.stderr)
        return
    rows = [
        (
            k.id,
            k.name,
            k.role.value,
            k.status(now).value,
            _when(k.created_at),
            _when(k.expires_at) or "never",
            _when(k.revoked_at) or "-",
            # Written at most once a minute per key (services/keys.py).
            _when(k.last_used_at) or "never",
        )
        for k in keys
    ]
    widths = [max(len(str(row[i])) for row in (COLUMNS, *rows)) for i in range(len(COLUMNS))]
    for row in (COLUMNS, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%SZ") if at is not None else ""


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None
