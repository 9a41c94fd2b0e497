"""The `keys` commands in process (tests/e2e/test_keys_cli.py runs them as a person would)."""

import argparse
import json
from datetime import timedelta

import pytest

from mcp_payments import keys_cli
from mcp_payments.config import Settings
from mcp_payments.domain.api_keys import KEY_PATTERN
from mcp_payments.domain.errors import ApiKeyNotFound
from mcp_payments.server.callers import local_user
from tests.conftest import TEST_SECRETS

pytestmark = pytest.mark.anyio


async def keys(db_url: str, command: str, lifetime: timedelta | None = None, **args: object) -> None:
    settings = Settings(db_url=db_url, background=False, **TEST_SECRETS)
    await keys_cli.run(settings, argparse.Namespace(keys_command=command, **args), lifetime)


async def test_create_list_and_revoke_print_what_an_administrator_needs(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await keys(db_url, "list", json=False)
    assert "no API keys" in capsys.readouterr().err

    await keys(db_url, "create", timedelta(days=7), name="bot", role="agent", json=False)
    created = capsys.readouterr()
    [(key_id, secret)] = KEY_PATTERN.findall(created.out)
    assert "expires: 20" in created.out
    assert "shown this once" in created.err
    await keys(db_url, "create", name="reader", role="viewer", json=True)
    reader = json.loads(capsys.readouterr().out)
    assert reader["expires_at"] is None
    assert KEY_PATTERN.fullmatch(reader["key"])

    await keys(db_url, "revoke", key_id=key_id)
    assert f"revoked {key_id} (bot, agent)" in capsys.readouterr().out
    await keys(db_url, "list", json=False)
    table = capsys.readouterr().out
    await keys(db_url, "list", json=True)
    listed = json.loads(capsys.readouterr().out)

    assert [line.split()[:4] for line in table.splitlines()[1:]] == [
        [key_id, "bot", "agent", "revoked"],
        [reader["id"], "reader", "viewer", "active"],
    ]
    assert [(k["id"], k["status"]) for k in listed] == [(key_id, "revoked"), (reader["id"], "active")]
    assert secret not in table + json.dumps(listed)
    assert keys_cli.administrator() == f"cli:{local_user()}"
    with pytest.raises(ApiKeyNotFound):
        await keys(db_url, "revoke", key_id="key_" + "0" * 26)
