"""The audit hash chain: h_n = SHA-256(h_{n-1} || canonical_json(record_n))."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    """One byte-exact JSON form: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def argument_hash(arguments: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(arguments).encode()).hexdigest()


def chain_hash(previous: str, record: Mapping[str, Any]) -> str:
    return hashlib.sha256((previous + canonical_json(record)).encode()).hexdigest()
