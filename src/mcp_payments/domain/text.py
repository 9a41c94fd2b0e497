"""Text an agent sends: what characters it may hold before anything stores or compares it.

A control character has no place in a name, a memo or an id: NUL is refused by PostgreSQL's text
type, others corrupt logs and terminals, and bidirectional overrides make a text read differently
from what it holds. Free text may keep tabs and line breaks.
"""

from __future__ import annotations

import re

from mcp_payments.domain.errors import InvalidInput

# C0 and C1 controls and DEL; lone surrogates (JSON can carry "\ud800", no database can store it); the
# bidirectional embeddings, overrides and isolates.
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
_FORBIDDEN_IN_FREE_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def check_text(field: str, value: str, *, free_text: bool = False) -> None:
    """Refuse a text holding a control character (free text may hold tabs and line breaks)."""
    found = (_FORBIDDEN_IN_FREE_TEXT if free_text else _FORBIDDEN).search(value)
    if found is None:
        return
    allowed = " (tabs and line breaks are fine)" if free_text else ""
    raise InvalidInput(
        f"{field} holds the control character U+{ord(found.group()):04X} at position {found.start()}: send plain "
        f"text without control characters{allowed}",
        field=field,
        position=found.start(),
    )
