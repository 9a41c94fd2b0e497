"""export-schemas: each tool's input and output JSON Schema, one file per tool, for review and clients."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio

from mcp_payments.adapters.db.engine import open_database
from mcp_payments.config import Settings


async def tool_documents() -> dict[str, dict[str, Any]]:
    """Every tool of a full deployment as published in tools/list. Opens no database connection."""
    from mcp_payments.bootstrap import build

    settings = Settings(db_url="sqlite+aiosqlite:///:memory:", secret_key="unused", webhook_secrets=("unused",))  # noqa: S106  # no secret is used
    db = open_database(settings.db_url)
    try:
        server, _, _ = build(db, settings)
        tools = await server.published_tools()
    finally:
        await db.dispose()
    return {
        t.name: {
            "name": t.name,
            "title": t.title,
            "description": t.description,
            "annotations": t.annotations.model_dump(by_alias=True, exclude_none=True) if t.annotations else None,
            "inputSchema": t.input_schema,
            "outputSchema": t.output_schema,
            **({"_meta": t.meta} if t.meta else {}),  # an MCP Apps view that shows its results (server/views/)
        }
        for t in tools
    }


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def export(out: Path, check: bool = False) -> list[str]:
    """Write schemas/<tool>.json; with check, write nothing and return the stale or missing files."""
    docs = anyio.run(tool_documents)
    wanted = {f"{name}.json": render(doc) for name, doc in docs.items()}
    existing = {p.name for p in out.glob("*.json")} if out.exists() else set()
    changed = sorted(n for n, text in wanted.items() if not (out / n).exists() or (out / n).read_text() != text)
    changed += sorted(existing - set(wanted))
    if not check:
        out.mkdir(parents=True, exist_ok=True)
        for name in existing - set(wanted):
            (out / name).unlink()
        for name, text in wanted.items():
            (out / name).write_text(text)
    return changed
