"""`mcp-payments keys create | list | revoke`, as an administrator types them: the key is printed once, a listing
never holds a secret, and a mistake is one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcp_payments.domain.api_keys import KEY_PATTERN, parse_key
from tests.e2e.processes import create_key
from tests.e2e.test_cli import assert_one_clear_line, cli
from tests.e2e.test_http_auth import expire

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_a_created_key_is_printed_once_and_listed_without_its_secret(db_url: str, tmp_path: Path) -> None:
    created = await cli(
        tmp_path, "keys", "create", "--name", "ops", "--role", "operator", "--expires", "90d", "--db", db_url
    )
    assert created.returncode == 0, created.stderr.decode()
    out = created.stdout.decode()
    [key] = KEY_PATTERN.findall(out)
    key_id, secret = key
    assert out.count(secret) == 1
    assert f"id:      {key_id}" in out
    assert "role:    operator" in out
    assert "never" not in out  # it expires
    scripted = await create_key(db_url, tmp_path, "viewer", "reader")
    revoked = await create_key(db_url, tmp_path, "agent", "gone")
    expired = await create_key(db_url, tmp_path, "agent", "old")
    assert (await cli(tmp_path, "keys", "revoke", revoked["id"], "--db", db_url)).returncode == 0
    await expire(db_url, expired["id"])

    table = await cli(tmp_path, "keys", "list", "--db", db_url)
    listed = await cli(tmp_path, "keys", "list", "--json", "--db", db_url)

    text = table.stdout.decode()
    assert text.splitlines()[0].split() == [
        "id",
        "name",
        "role",
        "status",
        "created",
        "expires",
        "revoked",
        "last",
        "used",
    ]
    statuses = {line.split()[0]: line.split()[3] for line in text.splitlines()[1:]}
    assert statuses == {key_id: "active", scripted["id"]: "active", revoked["id"]: "revoked", expired["id"]: "expired"}
    rows = {row["id"]: row for row in json.loads(listed.stdout)}
    assert rows[key_id]["role"] == "operator"
    assert rows[revoked["id"]]["revoked_at"] is not None
    assert set(rows[key_id]) == {
        "id",
        "name",
        "role",
        "created_at",
        "expires_at",
        "revoked_at",
        "status",
        "last_used_at",
    }
    secrets = [secret, *((parse_key(k["key"]) or ("", ""))[1] for k in (scripted, revoked, expired))]
    for shown in (table, listed):
        everything = shown.stdout.decode() + shown.stderr.decode()
        assert [s for s in secrets if s in everything] == []


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["revoke", "key_00000000000000000000000000"], "no API key key_00000000000000000000000000"),
        (["create", "--name", "has space", "--role", "agent"], "key name 'has space' is not"),
        (["create", "--name", "bot", "--role", "agent", "--expires", "forever"], "duration 'forever' is not"),
    ],
    ids=["unknown-key", "bad-name", "bad-expiry"],
)
async def test_a_mistake_is_one_clear_line_and_changes_nothing(
    db_url: str, tmp_path: Path, args: list[str], phrase: str
) -> None:
    await cli(tmp_path, "keys", "list", "--db", db_url)  # creates the database (its log line) before the mistake
    done = await cli(tmp_path, "keys", *args, "--db", db_url)
    assert done.returncode != 0
    assert done.stdout == b""
    assert_one_clear_line(done.stderr, phrase)
    listed = await cli(tmp_path, "keys", "list", "--json", "--db", db_url)
    assert json.loads(listed.stdout) == []


async def test_revoking_a_key_twice_says_when_it_was_revoked(db_url: str, tmp_path: Path) -> None:
    key = await create_key(db_url, tmp_path, "agent")
    first = await cli(tmp_path, "keys", "revoke", key["id"], "--db", db_url)
    again = await cli(tmp_path, "keys", "revoke", key["id"], "--db", db_url)

    assert first.returncode == 0
    assert "refused from the next request on" in first.stdout.decode()
    assert again.returncode != 0
    assert_one_clear_line(again.stderr, f"API key {key['id']} was revoked already, at")
