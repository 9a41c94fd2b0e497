"""How to run mcp-payments here, spelled out for the messages that tell a person what to run next."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path


def command(*args: str) -> str:
    """`mcp-payments ARGS` as this installation runs it: the console script beside this Python, by its full path
    (a checkout's .venv/bin is not on the PATH), else `python -m mcp_payments`."""
    script = Path(sys.executable).parent / ("mcp-payments.exe" if sys.platform == "win32" else "mcp-payments")
    head = [str(script)] if script.is_file() else [sys.executable, "-m", "mcp_payments"]
    return shlex.join([*head, *args])
