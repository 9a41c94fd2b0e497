"""Erasure of a customer's personal data, the pure part: the pseudonym it is replaced with, and the rewriting of
free text and JSON documents that mention it.

A pseudonym is derived from the customer's id alone (never from what it replaces), so that erasing twice gives the
same answer and nothing of the erased data can be recovered from it. Text elsewhere (a memo, a stored answer, a
webhook body) is rewritten where it contains the erased name, e-mail or description, case-insensitively; a JSON
document is rewritten value by value, so that it stays the same document.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Terms shorter than this are not searched for in other rows' text: a two-letter name would rewrite every memo
# that happens to contain those letters. The customer's own row is always erased whole.
MIN_TERM = 3
REDACTED = "[redacted]"  # what retention leaves of a screening's party name


def pseudonym(customer_id: str) -> str:
    """What an erased customer's name becomes: stable for the customer, meaningless otherwise."""
    return "erased-" + hashlib.sha256(customer_id.encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Personal:
    """The personal data of one customer, as the terms to look for elsewhere."""

    name: str | None
    email: str | None
    description: str | None

    def terms(self) -> tuple[str, ...]:
        """Longest first, so that a name inside the description is not rewritten before the description is."""
        found = {t.strip() for t in (self.description, self.email, self.name) if t and len(t.strip()) >= MIN_TERM}
        return tuple(sorted(found, key=lambda t: (-len(t), t)))

    def search_forms(self) -> tuple[str, ...]:
        """Lower-case substrings a row mentioning a term holds: the term, and its JSON-escaped ASCII form (a
        document written with ensure_ascii escapes é as \\u00e9)."""
        forms = set()
        for term in self.terms():
            forms.add(term.lower())
            forms.add(json.dumps(term)[1:-1].lower())
        return tuple(sorted(forms))


def rewrite_text(text: str, terms: Iterable[str], replacement: str) -> str:
    for term in terms:
        text = re.sub(re.escape(term), replacement, text, flags=re.IGNORECASE)
    return text


def rewrite_value(value: Any, terms: tuple[str, ...], replacement: str) -> Any:
    if isinstance(value, str):
        return rewrite_text(value, terms, replacement)
    if isinstance(value, list):
        return [rewrite_value(v, terms, replacement) for v in value]
    if isinstance(value, dict):
        # Keys are the document's shape, never personal data: a customer named "Payment" leaves them alone.
        return {k: rewrite_value(v, terms, replacement) for k, v in value.items()}
    return value


def rewrite_document(text: str, terms: tuple[str, ...], replacement: str) -> str:
    """`text` with every term replaced: value by value when it is a JSON object or array, as plain text else."""
    if text[:1] in ("{", "["):
        try:
            document = json.loads(text)
        except ValueError:
            pass
        else:
            return json.dumps(rewrite_value(document, terms, replacement), separators=(",", ":"), ensure_ascii=False)
    return rewrite_text(text, terms, replacement)
