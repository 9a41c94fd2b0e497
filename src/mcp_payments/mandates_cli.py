"""`mcp-payments mandates create | list | revoke`: mandates, granted and revoked by whoever can open the database.

Each is the tool of the same name called through an in-memory MCP client as the administrator cli:<OS user>: the
same validation, errors and audit record as over MCP, with the CLI user as who granted or revoked.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from typing import Any

from mcp.client import Client

from mcp_payments import catalog
from mcp_payments.bootstrap import application
from mcp_payments.config import Settings
from mcp_payments.domain.roles import Role
from mcp_payments.keys_cli import administrator
from mcp_payments.limits_cli import call_tool
from mcp_payments.server.access import Access
from mcp_payments.server.app import build_server
from mcp_payments.server.callers import Callers
from mcp_payments.services.access import AuthMode, Caller


def add_parser(sub: Any) -> None:
    mandates = sub.add_parser("mandates", help="grant, list and revoke mandates (each grant and revocation is audited)")
    mandates_sub = mandates.add_subparsers(dest="mandates_command", required=True)
    create = mandates_sub.add_parser("create", help="grant an agent principal a bounded authority to spend")
    create.add_argument("--principal", required=True, help="the grantee, e.g. key:billing-bot (see whoami)")
    create.add_argument("--currency", required=True, help="ISO 4217 code, e.g. USD")
    create.add_argument("--description", required=True, help="what it is for")
    create.add_argument("--max-total", required=True, metavar="AMOUNT", help='per period, e.g. "100.00"')
    create.add_argument("--max-per-payment", metavar="AMOUNT", help="default: the total")
    create.add_argument("--period", choices=["once", "daily", "monthly"], default="once")
    create.add_argument("--expires", required=True, help="its lifetime, e.g. 30d, 12h (at most a year)")
    create.add_argument("--allow-payees", metavar="IDS", help="comma-separated wal_..., cus_... or external")
    listing = mandates_sub.add_parser("list", help="list the mandates, newest first")
    listing.add_argument("--principal", help="only this grantee's")
    listing.add_argument("--status", choices=["active", "revoked", "expired"])
    revoke = mandates_sub.add_parser("revoke", help="revoke a mandate: calls citing it are refused at once")
    revoke.add_argument("mandate_id", metavar="ID", help="the mandate's id, mdt_...")
    for command in (create, listing, revoke):
        command.add_argument("--db", help="database URL")
        command.add_argument("--json", action="store_true", help="print JSON")


async def run(settings: Settings, args: argparse.Namespace, lifetime: timedelta | None) -> None:
    async with application(settings) as (_server, _box, services):
        caller = Caller(administrator(), Role.ADMIN, AuthMode.PROCESS)
        server, _ = build_server(services, settings, catalog.register_tools, Access(Callers.fixed(caller)))
        async with Client(server) as client:
            if args.mandates_command == "create":
                assert lifetime is not None  # --expires is required
                arguments = _create_arguments(args, (services.clock.now() + lifetime).isoformat())
                answer = await call_tool(client, "create_mandate", arguments)
            elif args.mandates_command == "revoke":
                answer = await call_tool(client, "revoke_mandate", {"mandate_id": args.mandate_id})
            else:
                answer = await _list(client, args)
    if "error" in answer:
        sys.exit(f"mcp-payments: {answer['error']}")
    print(json.dumps(answer, indent=None if args.json else 2))


def _create_arguments(args: argparse.Namespace, expires_at: str) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "principal": args.principal,
        "currency": args.currency,
        "description": args.description,
        "max_total": args.max_total,
        "period": args.period,
        "expires_at": expires_at,
    }
    if args.max_per_payment is not None:
        arguments["max_per_payment"] = args.max_per_payment
    if args.allow_payees is not None:
        arguments["allowed_payees"] = [p.strip() for p in args.allow_payees.split(",") if p.strip()]
    return arguments


async def _list(client: Client, args: argparse.Namespace) -> dict[str, Any]:
    """Every page of list_mandates."""
    query = {k: v for k, v in (("principal", args.principal), ("status", args.status)) if v is not None}
    found: list[Any] = []
    cursor: dict[str, str] = {}
    while True:
        page = await call_tool(client, "list_mandates", {**query, **cursor, "limit": 100})
        if "error" in page:
            return page
        found += page["mandates"]
        if page["next_cursor"] is None:
            return {"mandates": found}
        cursor = {"cursor": page["next_cursor"]}
