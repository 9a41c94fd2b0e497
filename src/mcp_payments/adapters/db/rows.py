"""Domain dataclasses to table rows, for those whose fields are exactly their table's columns."""

from __future__ import annotations

from dataclasses import fields
from enum import Enum
from typing import Any


def row_of(obj: Any) -> dict[str, Any]:
    """The column values of a flat dataclass: its fields, with enums stored as their values."""
    values = {f.name: getattr(obj, f.name) for f in fields(obj)}
    return {k: v.value if isinstance(v, Enum) else v for k, v in values.items()}
