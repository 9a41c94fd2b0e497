"""mcp-payments serve | worker | migrate | keys | limits | approvals | mandates | sanctions | demo-data |
export-schemas | audit-checkpoint."""

from __future__ import annotations

import argparse
import errno
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import anyio
import anyio.abc

from mcp_payments import __version__, runtime
from mcp_payments.config import (
    Settings,
    parse_allowed_hosts,
    parse_allowed_origins,
    parse_duration,
    parse_toolsets,
)
from mcp_payments.domain.roles import Role
from mcp_payments.logging import configure, get_logger

if TYPE_CHECKING:
    from mcp.server.transport_security import TransportSecuritySettings
    from starlette.applications import Starlette

    from mcp_payments.server.access import HttpAccess
    from mcp_payments.server.app import PaymentsServer
    from mcp_payments.services.container import Services

log = get_logger("mcp_payments")
T = TypeVar("T")


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
    serve.add_argument("--toolsets", help="comma-separated toolsets to expose (default: all)")
    serve.add_argument(
        "--principal", help="stdio without MCP_PAYMENTS_API_KEY: name the local caller local:NAME (default: OS user)"
    )
    serve.add_argument(
        "--no-auth",
        action="store_true",
        default=None,
        help="http/sse on a loopback address only: serve requests without a bearer token, as the local user with "
        "role agent (env MCP_PAYMENTS_NO_AUTH)",
    )
    serve.add_argument(
        "--no-background", action="store_true", help="do not run due work (background jobs) here; run a worker"
    )
    serve.add_argument(
        "--allowed-hosts",
        help="http/sse: comma-separated Host headers to accept besides --host:--port, e.g. payments.example.com:8000 "
        "(needed with --host 0.0.0.0; env MCP_PAYMENTS_ALLOWED_HOSTS)",
    )
    serve.add_argument(
        "--allowed-origins",
        help="http/sse: comma-separated browser Origins to accept besides http://HOST:PORT, e.g. "
        "https://app.example.com (env MCP_PAYMENTS_ALLOWED_ORIGINS)",
    )

    worker = sub.add_parser(
        "worker", help="run the background jobs alone (any number of workers and servers may share a PostgreSQL)"
    )
    worker.add_argument("--db", help="database URL")
    worker.add_argument(
        "--interval",
        type=_seconds,
        help="seconds between passes when nothing is left due (default 30; env MCP_PAYMENTS_JOB_INTERVAL_SECONDS)",
    )
    worker.add_argument("--once", action="store_true", help="run one pass of every job, then exit")

    mig = sub.add_parser("migrate", help="create or upgrade the database schema")
    mig.add_argument("--db", help="database URL")

    checkpoint = sub.add_parser(
        "audit-checkpoint", help="verify the audit chain and print a signed checkpoint of its head (JSON) to keep"
    )
    checkpoint.add_argument("--db", help="database URL")

    keys = sub.add_parser("keys", help="create, list and revoke API keys (each change is audited)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="create a key and print it, once")
    create.add_argument("--name", required=True, help="who the key is for; the principal is key:NAME")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--expires", help="lifetime, e.g. 90d, 12h, 30m, 2w (default: until revoked)")
    listing = keys_sub.add_parser("list", help="list the keys (never their secrets)")
    revoke = keys_sub.add_parser("revoke", help="revoke a key: refused from the next request on")
    revoke.add_argument("key_id", metavar="ID", help="the key's id, key_...")
    for command in (create, listing, revoke):
        command.add_argument("--db", help="database URL")
    for command in (create, listing):
        command.add_argument("--json", action="store_true", help="print JSON")

    from mcp_payments import limits_cli

    limits_cli.add_parser(sub)

    from mcp_payments import approvals_cli

    approvals_cli.add_parser(sub)
    from mcp_payments import mandates_cli

    mandates_cli.add_parser(sub)
    from mcp_payments import sanctions_cli

    sanctions_cli.add_parser(sub)
    from mcp_payments import demo_cli

    demo_cli.add_parser(sub)

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
            toolsets=_flag(args, "toolsets", parse_toolsets),
            principal=getattr(args, "principal", None),
            no_auth=getattr(args, "no_auth", None),
            background=False if getattr(args, "no_background", False) else None,
            sweep_interval=getattr(args, "interval", None),
            allowed_hosts=_flag(args, "allowed_hosts", parse_allowed_hosts),
            allowed_origins=_flag(args, "allowed_origins", parse_allowed_origins),
        )
        security = _transport_security(args, settings)
        http = _http_access(args, settings)
        lifetime = _flag(args, "expires", parse_duration)
        if settings.toolsets is not None:
            from mcp_payments.catalog import check_toolsets  # the whole catalog: only when asked for

            try:
                check_toolsets(settings.toolsets)
            except ValueError as error:
                raise ValueError(f"{'--toolsets' if args.toolsets else 'MCP_PAYMENTS_TOOLSETS'}: {error}") from None
    except ValueError as error:
        sys.exit(f"mcp-payments: {error}")
    configure(settings.log_level)
    if args.command in ("serve", "worker"):
        from mcp_payments.telemetry import configure_tracing

        try:
            configure_tracing(settings.otel_exporter)
        except ValueError as error:
            sys.exit(f"mcp-payments: {error}")
    from mcp_payments.bootstrap import StartupError
    from mcp_payments.domain.errors import DomainError

    try:
        match args.command:
            case "serve":
                runtime.run(_serve, settings, args.transport, args.host, args.port, security, http)
            case "worker":
                runtime.run(_worker, settings, args.once)
            case "migrate":
                runtime.run(_migrate, settings)
            case "keys":
                from mcp_payments import keys_cli

                runtime.run(keys_cli.run, settings, args, lifetime)
            case "limits":
                from mcp_payments import limits_cli

                runtime.run(limits_cli.run, settings, args, lifetime)
            case "approvals":
                from mcp_payments import approvals_cli

                runtime.run(approvals_cli.run, settings, args)
            case "mandates":
                from mcp_payments import mandates_cli

                runtime.run(mandates_cli.run, settings, args, lifetime)
            case "sanctions":
                from mcp_payments import sanctions_cli

                runtime.run(sanctions_cli.run, settings, args)
            case "demo-data":
                from mcp_payments import demo_cli

                runtime.run(demo_cli.run, settings, args)
            case "audit-checkpoint":
                runtime.run(_checkpoint, settings)
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
    except DomainError as error:
        sys.exit(f"mcp-payments: {error.message}")
    except KeyboardInterrupt:
        pass


def _flag(args: argparse.Namespace, name: str, parse: Callable[[str], T]) -> T | None:
    """A flag's value parsed, None when not given; a ValueError names the flag."""
    text = getattr(args, name, None)
    if text is None:
        return None
    try:
        return parse(text)
    except ValueError as error:
        raise ValueError(f"--{name.replace('_', '-')}: {error}") from None


def _transport_security(args: argparse.Namespace, settings: Settings) -> TransportSecuritySettings | None:
    """The Host/Origin checks of `serve --transport http|sse`, checked before anything starts."""
    if args.command != "serve" or args.transport == "stdio":
        return None
    from mcp_payments.server.hosts import transport_security

    return transport_security(args.host, args.port, settings)


def _http_access(args: argparse.Namespace, settings: Settings) -> HttpAccess | None:
    """Who http/sse callers are (bearer tokens, or --no-auth on loopback), checked before anything starts."""
    if args.command != "serve" or args.transport == "stdio":
        return None
    from mcp_payments.server.access import http_access

    return http_access(args.transport, args.host, args.port, settings)


async def _serve(
    settings: Settings,
    transport: str,
    host: str,
    port: int,
    security: TransportSecuritySettings | None,
    http: HttpAccess | None,
) -> None:
    listening = _listen(host, port) if transport != "stdio" else None
    try:
        await _serve_on(settings, transport, host, security, http, listening)
    finally:
        if listening is not None:
            listening.close()  # when the start fails after it was bound (uvicorn closes it otherwise)


async def _serve_on(
    settings: Settings,
    transport: str,
    host: str,
    security: TransportSecuritySettings | None,
    http: HttpAccess | None,
    listening: socket.socket | None,
) -> None:
    from mcp_payments.bootstrap import application, check_own_key, describe_url

    async with application(settings, http=http, defer_database=True) as (server, box, services):
        if http is None and settings.api_key is not None:
            await check_own_key(server)
        async with anyio.create_task_group() as tg:
            if transport == "stdio":
                await tg.start(_end_stdin_on_signal)  # before "serving": a Ctrl+C from then on stops it
            server.listed = anyio.Event()
            log.info(
                "serving",
                transport=transport,
                db=describe_url(settings.db_url),
                tools=len(box.specs),
                auth=server.callers.mode.value,
                **({"allowed_hosts": security.allowed_hosts} if security else {}),
                **({"resource_url": http.resource_url} if http and http.tokens_required else {}),
            )
            tg.start_soon(_open_then_work, server, services, settings)
            match transport:
                case "stdio":
                    await server.run_stdio_async()
                case "http":
                    assert listening is not None
                    app = server.streamable_http_app(
                        streamable_http_path="/mcp", transport_security=security, host=host
                    )
                    await _serve_http(_with_metrics(app, services, settings), listening, settings.log_level, services)
                case "sse":
                    assert listening is not None
                    app = server.sse_app(transport_security=security, host=host)
                    await _serve_http(_with_metrics(app, services, settings), listening, settings.log_level, services)
            tg.cancel_scope.cancel()


def _with_metrics(app: Starlette, services: Services, settings: Settings) -> Starlette:
    """`app` with /metrics (server/prometheus.py), imported here: stdio never loads prometheus_client."""
    from mcp_payments.server import prometheus

    prometheus.mount(app, prometheus.Exporter(services), settings.metrics_token)
    return app


def _listen(host: str, port: int) -> socket.socket:
    """The socket http/sse serve on, bound before anything starts: a port in use is one line that says what to
    do, not uvicorn's traceback after the database was opened."""
    from mcp_payments.bootstrap import StartupError

    listening = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: restarts reuse the port
    try:
        listening.bind((host, port))
    except OSError as error:
        listening.close()
        if error.errno == errno.EADDRINUSE:
            hint = f"another program listens there (`lsof -i :{port}` shows which): stop it or pass `--port {port + 1}`"
        else:
            hint = "--host must be an address of this machine, and a port under 1024 needs privileges"
        raise StartupError(f"cannot listen on {host}:{port} ({error.strerror}); {hint}") from None
    return listening


async def _serve_http(app: Starlette, listening: socket.socket, level: str, services: Services) -> None:
    """uvicorn, as the SDK's run_*_async run it, but with log_config=None: uvicorn leaves logging alone, and its
    lines (its start, one per request) go through the one configuration (logging.py), JSON like ours."""
    import uvicorn

    from mcp_payments.bootstrap import flush_now

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            await super().shutdown(sockets)
            # Stopped by a signal, uvicorn raises it again once serve() is over, which ends the process there:
            # the tool call statistics counted since the last flush are added now, or they would be lost.
            await flush_now(services)

    host, port = listening.getsockname()[:2]
    config = uvicorn.Config(app, host=host, port=port, log_config=None, log_level=level.lower())
    await Server(config).serve(sockets=[listening])


# The database layer of a deferred database (adapters/db/deferred.py) opens once the first tools/list is answered,
# or this long after the start when no client lists tools (a call before then opens it itself).
WARM_UP_AFTER_SECONDS = 1.0


async def _open_then_work(server: PaymentsServer, services: Services, settings: Settings) -> None:
    """Open the database layer when the start is over, then flush the tool call statistics every few seconds and
    run the due work (background jobs) if asked to."""
    from mcp_payments.adapters.db.deferred import DeferredUnitOfWorkFactory
    from mcp_payments.bootstrap import (
        CLOCK_FOLLOW_SECONDS,
        flush_call_stats,
        keep_following_sandbox_clock,
        run_due_work,
    )

    if isinstance(services.uow, DeferredUnitOfWorkFactory):
        assert server.listed is not None
        with anyio.move_on_after(WARM_UP_AFTER_SECONDS):
            await server.listed.wait()
        try:
            await services.uow.open()
        except Exception:
            log.exception("database_open_failed")  # every call will say so (service_unavailable) and try again
    async with anyio.create_task_group() as tg:
        tg.start_soon(flush_call_stats, services, settings.metrics_flush_seconds)
        if settings.background:
            await run_due_work(services, settings.sweep_interval)  # follows the sandbox clock too
        else:
            await keep_following_sandbox_clock(services, CLOCK_FOLLOW_SECONDS)


async def _end_stdin_on_signal(*, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
    """On SIGINT (Ctrl+C at a terminal) or SIGTERM, end stdio's input: the server stops as when its client closes
    stdin. Without it, Ctrl+C waited for the next Enter (stdin_relay.py says why)."""
    if sys.platform == "win32":  # no signal receivers on Windows' event loop: Ctrl+C raises KeyboardInterrupt
        task_status.started()
        return
    import signal

    from mcp_payments.stdin_relay import StdinRelay

    if sys.stdin.isatty():
        print(
            "mcp-payments: serving MCP over stdio, for a client such as Claude Desktop or the MCP Inspector to "
            "launch (see README); press Ctrl+C to stop",
            file=sys.stderr,
        )
    try:
        relay = StdinRelay()
    except OSError:  # no stdin at all (started with fd 0 closed): nothing to end, the default handling stays
        task_status.started()
        return
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        task_status.started()
        async for received in signals:
            log.info("stopping", signal=signal.Signals(received).name)
            relay.end()


async def _worker(settings: Settings, once: bool) -> None:
    """Due work alone: passes of every job until SIGINT or SIGTERM (the item in hand is finished first)."""
    import signal

    from mcp_payments.bootstrap import describe_url, run_due_work, services_of, sweep_once

    async with services_of(settings) as services, anyio.create_task_group() as tg:
        log.info("worker_started", db=describe_url(settings.db_url), jobs=[job.name for job in services.jobs])
        if once:
            log.info("worker_pass_done", items=await sweep_once(services))
            return

        async def stop_on_signal(*, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                task_status.started()
                async for received in signals:
                    log.info("worker_stopping", signal=signal.Signals(received).name)
                    tg.cancel_scope.cancel()
                    return

        await tg.start(stop_on_signal)  # listening before the first pass, which may not yield (SQLite runs inline)
        await run_due_work(services, settings.sweep_interval)


def _seconds(text: str) -> float:
    from mcp_payments.config import parse_seconds

    try:
        return parse_seconds(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


async def _migrate(settings: Settings) -> None:
    from mcp_payments.adapters.db import migrate
    from mcp_payments.bootstrap import StartupError, describe_url, open_checked

    database, _ = await open_checked(settings, create=True)
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


async def _checkpoint(settings: Settings) -> None:
    """Print {"checkpoint", "public_key", "head_seq", "head_hash"}: store it where the database's owner cannot
    reach, and pass the checkpoint to verify_audit_chain later."""
    import json

    from mcp_payments.bootstrap import StartupError, application
    from mcp_payments.services.compliance import AuditService

    async with application(settings, auto_migrate=False) as (_server, _box, services):
        audit = services.get(AuditService)
        verdict = await services.calls.read(audit.verify)
    if verdict.checkpoint is None:
        raise StartupError(
            f"the audit chain does not verify (first broken record: #{verdict.first_broken_seq}); no checkpoint "
            "is signed for it: run verify_audit_chain for details"
        )
    print(
        json.dumps(
            {
                "checkpoint": verdict.checkpoint,
                "public_key": audit.signer.public_key,
                "head_seq": verdict.head_seq,
                "head_hash": verdict.head_hash,
            }
        )
    )
