"""`mcp-payments limits set | show`: spending policies, administered by whoever can open the database.

`set` is the set_spending_policy tool called through an in-memory MCP client as the administrator cli:<OS user>
(role admin): the same validation, errors and audit record as over MCP, with the CLI user as who decided.
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
from mcp_payments.server.access import Access
from mcp_payments.server.app import build_server
from mcp_payments.server.callers import Callers
from mcp_payments.services.access import AuthMode, Caller

LIMITS = (
    "max_per_call",
    "daily",
    "monthly",
    "per_payee_daily",
    "refund_max_per_call",
    "refund_daily",
    "approval_above",
)


def add_parser(sub: Any) -> None:
    limits = sub.add_parser("limits", help="set and show spending policies (each change is audited)")
    limits_sub = limits.add_subparsers(dest="limits_command", required=True)
    set_ = limits_sub.add_parser("set", help="set (replace) the policy of a principal or a role in one currency")
    show = limits_sub.add_parser("show", help="show the policies of a principal, a role, or all")
    for command in (set_, show):
        whose = command.add_mutually_exclusive_group(required=command is set_)
        whose.add_argument("--principal", help="e.g. key:billing-bot or local:ann (see whoami)")
        whose.add_argument("--role", choices=[r.value for r in Role], help="the default of every caller of this role")
        command.add_argument("--db", help="database URL")
        command.add_argument("--json", action="store_true", help="print JSON")
    set_.add_argument("--currency", required=True, help="ISO 4217 code, e.g. USD")
    for name in LIMITS:
        set_.add_argument(f"--{name.replace('_', '-')}", metavar="AMOUNT", help='a decimal string, e.g. "100.00"')
    set_.add_argument("--velocity", type=int, metavar="N", help="counted money calls per minute")
    set_.add_argument("--allow-payees", metavar="IDS", help="comma-separated wal_..., cus_... or external")
    set_.add_argument("--deny-payees", metavar="IDS", help="comma-separated wal_..., cus_... or external")
    set_.add_argument("--expires", help="the policy's lifetime, e.g. 30d, 12h (default: until replaced)")
    set_.add_argument("--remove", action="store_true", help="remove the policy of that subject and currency")


async def run(settings: Settings, args: argparse.Namespace, lifetime: timedelta | None) -> None:
    async with application(settings) as (_server, _box, services):
        caller = Caller(administrator(), Role.ADMIN, AuthMode.PROCESS)
        server, _ = build_server(services, settings, catalog.register_tools, Access(Callers.fixed(caller)))
        async with Client(server) as client:
            if args.limits_command == "set":
                arguments = _set_arguments(args, lifetime, services.clock.now())
                answer = await call_tool(client, "set_spending_policy", arguments)
            else:
                whose = {"principal": args.principal} if args.principal else {"role": args.role} if args.role else None
                answer = await call_tool(client, "get_spending_policy", whose) if whose else await _all(services)
    if "error" in answer:
        sys.exit(f"mcp-payments: {answer['error']}")
    print(json.dumps(answer, indent=None if args.json else 2))


def _set_arguments(args: argparse.Namespace, lifetime: timedelta | None, now: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {"currency": args.currency}
    arguments.update({"principal": args.principal} if args.principal else {"role": args.role})
    arguments.update({name: getattr(args, name) for name in LIMITS if getattr(args, name) is not None})
    if args.velocity is not None:
        arguments["velocity"] = args.velocity
    for flag, name in (("allow_payees", "allowed_payees"), ("deny_payees", "denied_payees")):
        if getattr(args, flag) is not None:
            arguments[name] = [p.strip() for p in getattr(args, flag).split(",") if p.strip()]
    if lifetime is not None:
        arguments["expires_at"] = (now + lifetime).isoformat()
    if args.remove:
        arguments = {k: v for k, v in arguments.items() if k in ("currency", "principal", "role")} | {"remove": True}
    return arguments


async def call_tool(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The tool's answer, or {"error": its message} (the CLI exits with it once the server is closed)."""
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        text = str(getattr(result.content[0], "text", "failed")) if result.content else "failed"
        return {"error": json.loads(text)["message"] if text.startswith("{") else text}
    return dict(result.structured_content or {})


async def _all(services: Any) -> dict[str, Any]:
    from mcp_payments.server.tools.policies import PolicyOut
    from mcp_payments.services.controls import SpendingControls

    policies = await services.calls.read(lambda uow: SpendingControls.policies(uow, None))
    return {"policies": [PolicyOut.of(p).model_dump(mode="json") for p in policies]}
