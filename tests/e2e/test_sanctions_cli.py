"""`mcp-payments sanctions load DIR` as an operator types it, then screen_party from a real stdio client: the
loaded version is the one screened against."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from mcp.client import Client

from tests.e2e.processes import stdio_params
from tests.e2e.test_cli import assert_one_clear_line, cli
from tests.helpers import ok
from tests.sanctions.files import second_list, write

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_a_loaded_list_is_screened_against_over_stdio_and_loading_it_again_changes_nothing(
    db_url: str, tmp_path: Path
) -> None:
    lists = write(tmp_path / "sdn", second_list())
    first = await cli(tmp_path, "sanctions", "load", str(lists), "--db", db_url)
    assert first.returncode == 0, first.stderr.decode()
    assert first.stdout.decode().startswith("loaded sls_")
    assert "11 entries from 24 rows" in first.stdout.decode()
    again = await cli(tmp_path, "sanctions", "load", str(lists), "--json", "--db", db_url)
    assert again.returncode == 0, again.stderr.decode()
    reloaded = json.loads(again.stdout)
    assert reloaded["created"] is False
    listed = json.loads((await cli(tmp_path, "sanctions", "list", "--json", "--db", db_url)).stdout)
    assert [v["id"] for v in listed] == [reloaded["id"]]
    assert listed[0]["loaded_by"].startswith("cli:")

    with anyio.fail_after(60):
        async with Client(stdio_params(db_url, tmp_path)) as client:
            screened = await ok(client, "screen_party", name="Hortensia Plumtree Quasimodo", type="person")
    assert screened["decision"] == "review"
    assert screened["matches"][0]["entry_id"] == 9100
    assert screened["list_version"]["id"] == reloaded["id"]
    assert screened["list_version"]["sha256"] == reloaded["sha256"]


async def test_a_malformed_list_is_one_clear_line_naming_file_and_line_and_loads_nothing(
    db_url: str, tmp_path: Path
) -> None:
    broken = {**second_list(), "alt.csv": b'9001,101,"aka"\r\n'}
    refused = await cli(tmp_path, "sanctions", "load", str(write(tmp_path / "bad", broken)), "--db", db_url)
    assert refused.returncode != 0
    assert_one_clear_line(refused.stderr, "alt.csv line 1", "3 fields")
    missing = await cli(tmp_path, "sanctions", "load", str(tmp_path / "nowhere"), "--db", db_url)
    assert_one_clear_line(missing.stderr, "is not a directory")
    listed = await cli(tmp_path, "sanctions", "list", "--json", "--db", db_url)
    assert json.loads(listed.stdout) == []
