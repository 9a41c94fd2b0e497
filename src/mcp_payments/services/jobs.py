"""Background work that categories contribute: each job's pass finds what is due, handles it, says how many."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    run: Callable[[], Awaitable[int]]  # one pass; the number of items it handled
