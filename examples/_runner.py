"""What both example sessions share: `--db`, a fresh SQLite file by default, and one line, not a client
traceback, when the server stops at start (it said why on its stderr, just above)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
from mcp.shared.exceptions import MCPError
from mcp.types import CONNECTION_CLOSED


def run(session: Callable[[str], Awaitable[None]], description: str | None) -> None:
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file in a temp directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            anyio.run(session, args.db or f"sqlite:///{Path(tmp) / 'example.db'}")
        except Exception as error:
            if not server_went_away(error):
                raise
            sys.exit("the server stopped before the session could run: its message is above")


def server_went_away(error: BaseException) -> bool:
    if isinstance(error, BaseExceptionGroup):
        return any(server_went_away(e) for e in error.exceptions)
    return isinstance(error, MCPError) and error.code == CONNECTION_CLOSED
