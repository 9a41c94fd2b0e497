"""How the server's event loop is run: on uvloop where it is installed.

asyncpg's round trip to PostgreSQL costs about half the CPU on uvloop that it does on the standard
library's loop (measured on the 2-core development machine: ~60 us against ~140 us per query,
benchmarks/README in docs/benchmarks.md), and every tool call makes one to three of them.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Awaitable, Callable
from typing import Any, TypeVarTuple, Unpack

import anyio

Ts = TypeVarTuple("Ts")


def loop_options() -> dict[str, Any]:
    """anyio's backend options: uvloop when it can be imported (it is not built for Windows)."""
    return {"use_uvloop": True} if importlib.util.find_spec("uvloop") is not None else {}


def run(function: Callable[[Unpack[Ts]], Awaitable[Any]], *args: *Ts) -> Any:
    return anyio.run(function, *args, backend_options=loop_options())
