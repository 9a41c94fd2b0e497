"""mcp-payments serve | migrate | export-schemas."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import anyio
import structlog

from mcp_payments import __version__, runtime
from mcp_payments.config import TOOLSETS, Settings, parse_toolsets
from mcp_payments.logging import configure

log = structlog.get_logger("mcp_payments")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mcp-payments", description=__doc__)
    p.add_argument("--version", action="version", version=f"mcp-payments {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the MCP server")
    serve.add_argument("--transport", choices=("stdio", "http", "sse"), default="stdio")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--db", help="database URL (default: SQLite in the user data dir; env MCP_PAYMENTS_DB_URL)")
    serve.add_argument("--read-only", action="store_true", default=None, help="expose only read-only tools")
    serve.add_argument("--toolsets", help=f"comma-separated subset of: {', '.join(TOOLSETS)}")
    serve.add_argument("--principal", help="who the caller is on stdio (default: local)")
    serve.add_argument("--no-background", action="store_true", help="do not run due work (hold expiry) here")

    mig = sub.add_parser("migrate", help="create or upgrade the database schema")
    mig.add_argument("--db", help="database URL")

    export = sub.add_parser("export-schemas", help="write each tool's input and output JSON Schema")
    export.add_argument("--out", default="schemas", help="directory to write to (default: schemas)")
    export.add_argument("--check", action="store_true", help="fail if the files differ instead of writing")
    return p


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env(
            db_url=getattr(args, "db", None),
            read_only=getattr(args, "read_only", None),
            toolsets=parse_toolsets(args.toolsets) if getattr(args, "toolsets", None) else None,
            principal=getattr(args, "principal", None),
            background=False if getattr(args, "no_background", False) else None,
        )
    except ValueError as error:
        sys.exit(f"mcp-payments: {error}")
    configure(settings.log_level)
    from mcp_payments.bootstrap import StartupError

    try:
        match args.command:
            case "serve":
                runtime.run(_serve, settings, args.transport, args.host, args.port)
            case "migrate":
                runtime.run(_migrate, settings)
            case "export-schemas":
                from mcp_payments.schemas import export

                changed = export(Path(args.out), args.check)
                if args.check and changed:
                    sys.exit(
                        f"mcp-payments: schemas are stale: {', '.join(changed)}; run `mcp-payments "
                        "export-schemas` and commit the result"
                    )
    except StartupError as error:
        sys.exit(f"mcp-payments: {error}")
    except KeyboardInterrupt:
        pass


async def _serve(settings: Settings, transport: str, host: str, port: int) -> None:
    from mcp_payments.bootstrap import application, describe_url, run_due_work

    async with application(settings) as (server, box, services), anyio.create_task_group() as tg:
        log.info("serving", transport=transport, db=describe_url(settings.db_url), tools=len(box.specs))
        if settings.background:
            tg.start_soon(run_due_work, services, settings.sweep_interval)
        match transport:
            case "stdio":
                await server.run_stdio_async()
            case "http":
                await server.run_streamable_http_async(host=host, port=port, streamable_http_path="/mcp")
            case "sse":
                await server.run_sse_async(host=host, port=port)
        tg.cancel_scope.cancel()


async def _migrate(settings: Settings) -> None:
    from mcp_payments.adapters.db import migrate
    from mcp_payments.bootstrap import StartupError, describe_url, open_checked

    database, _ = await open_checked(settings)
    try:
        before = await migrate.upgrade(database)  # read under the lock that serializes migrations
        after = await migrate.current_revision(database)
    except Exception as error:
        raise StartupError(
            f"migrating {describe_url(settings.db_url)} failed: {type(error).__name__}: {str(error)[:300]}"
        ) from error
    finally:
        await database.dispose()
    print(f"mcp-payments: {describe_url(settings.db_url)} migrated from {before or 'empty'} to {after}")
