from pathlib import Path

import pytest

from mcp_payments.schemas import export

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_schemas_match_what_the_server_publishes() -> None:
    # export() runs its own event loop, so this test is synchronous.
    stale = export(ROOT / "schemas", check=True)
    assert stale == [], f"run `mcp-payments export-schemas` and commit: {stale}"


def test_a_changed_schema_file_is_reported_as_stale(tmp_path: Path) -> None:
    for source in (ROOT / "schemas").glob("*.json"):
        (tmp_path / source.name).write_text(source.read_text())
    victim = sorted(tmp_path.glob("*.json"))[0]
    victim.write_text("{}\n")
    (tmp_path / "retired_tool.json").write_text("{}\n")
    assert export(tmp_path, check=True) == [victim.name, "retired_tool.json"]
    assert victim.read_text() == "{}\n", "check mode writes nothing"
