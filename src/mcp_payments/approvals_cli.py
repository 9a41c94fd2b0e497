"""`mcp-payments approvals list | approve ID | reject ID [--reason]`: the human at the terminal decides held calls.

Each command is the matching tool (list_pending_approvals, approve_request, reject_request) called through an
in-memory MCP client as the administrator cli:<OS user> (role admin): the same checks, errors and audit records as
over MCP. The requester is an agent's principal (key:..., local:...), so the terminal's human is someone else.
"""

from __future__ import annotations

import argparse
import json
import sys
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
    approvals = sub.add_parser("approvals", help="list, approve and reject money calls held for approval")
    approvals_sub = approvals.add_subparsers(dest="approvals_command", required=True)
    listing = approvals_sub.add_parser("list", help="the calls waiting for approval, oldest first")
    listing.add_argument("--requester", help="only this principal's, e.g. key:billing-bot")
    approve = approvals_sub.add_parser("approve", help="approve a held call: it runs now, once")
    reject = approvals_sub.add_parser("reject", help="reject a held call: it never runs")
    for command in (approve, reject):
        command.add_argument("approval_id", metavar="ID", help="the approval's id, apr_...")
    reject.add_argument("--reason", help="why, for the requester and the record")
    for command in (listing, approve, reject):
        command.add_argument("--db", help="database URL")
        command.add_argument("--json", action="store_true", help="print JSON")


async def run(settings: Settings, args: argparse.Namespace) -> None:
    async with application(settings) as (_server, _box, services):
        caller = Caller(administrator(), Role.ADMIN, AuthMode.PROCESS)
        server, _ = build_server(services, settings, catalog.register_tools, Access(Callers.fixed(caller)))
        async with Client(server) as client:
            answer = await call_tool(client, *_tool_call(args))
    if "error" in answer:
        sys.exit(f"mcp-payments: {answer['error']}")
    print(json.dumps(answer, indent=None if args.json else 2) if args.json else _text(args, answer))


def _tool_call(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    match args.approvals_command:
        case "list":
            return "list_pending_approvals", {"limit": 100, **({"principal": args.requester} if args.requester else {})}
        case "approve":
            return "approve_request", {"approval_id": args.approval_id}
        case _:
            return "reject_request", {
                "approval_id": args.approval_id,
                **({"reason": args.reason} if args.reason else {}),
            }


def _text(args: argparse.Namespace, answer: dict[str, Any]) -> str:
    if args.approvals_command == "list":
        rows = [_line(a) for a in answer["approvals"]]
        more = "\n(more: use --json and list_pending_approvals' cursor)" if answer.get("next_cursor") else ""
        return ("\n".join(rows) or "no calls are waiting for approval") + more
    approval = answer["approval"]
    again = " (you did this a moment ago: nothing was done again)" if answer.get("deduplicated") else ""
    if approval["status"] == "executed":
        ids = ", ".join((approval["result"] or {}).get("entity_ids") or [])
        return f"{approval['id']} approved: {approval['tool']} ran once ({ids}){again}"
    return f"{approval['id']} {approval['status']}{again}"


def _line(a: dict[str, Any]) -> str:
    amount = f"{a['amount']['amount']} {a['amount']['currency']}" if a["amount"] else f"({a['held_for']})"
    payee = f" to {a['payee']}" if a["payee"] else ""
    return f"{a['id']}  {a['requested_by']}  {a['tool']}  {amount}{payee}  expires {a['expires_at']}"
