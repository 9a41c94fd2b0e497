"""The `mandates` commands in process: grant, list and revoke a mandate as the administrator cli:<OS user>."""

import json
from datetime import timedelta
from typing import Any

import pytest

from mcp_payments import cli, mandates_cli
from mcp_payments.config import Settings
from mcp_payments.server.callers import local_user
from tests.conftest import TEST_SECRETS

pytestmark = pytest.mark.anyio


def printed(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """The JSON the command printed: its last line (log lines may come before it when logging is not configured)."""
    return dict(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))


async def mandates(db_url: str, argv: list[str], lifetime: timedelta | None = None) -> None:
    settings = Settings(db_url=db_url, background=False, **TEST_SECRETS)
    args = cli.parser().parse_args(["mandates", *argv])
    await mandates_cli.run(settings, args, lifetime)


GRANT = ["create", "--principal", "key:bot", "--currency", "usd", "--description", "office supplies"]


async def test_grant_list_and_revoke_a_mandate_from_the_terminal(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*GRANT, "--max-total", "100.00", "--max-per-payment", "25.00", "--period", "monthly"]
    await mandates(db_url, [*argv, "--expires", "30d", "--allow-payees", "external, wal_1", "--json"], timedelta(30))
    granted = printed(capsys)["mandate"]
    assert (granted["principal"], granted["created_by"], granted["period"]) == (
        "key:bot",
        f"cli:{local_user()}",
        "monthly",
    )
    assert (granted["max_per_payment"]["amount"], granted["allowed_payees"]) == ("25.00", ["external", "wal_1"])

    await mandates(db_url, ["list", "--principal", "key:bot", "--json"])
    assert [m["id"] for m in printed(capsys)["mandates"]] == [granted["id"]]
    await mandates(db_url, ["revoke", granted["id"], "--json"])
    assert printed(capsys)["mandate"]["status"] == "revoked"
    await mandates(db_url, ["list", "--status", "active", "--json"])
    assert printed(capsys)["mandates"] == []


async def test_a_bad_mandate_exits_with_the_tools_message(db_url: str) -> None:
    with pytest.raises(SystemExit, match="amounts are never rounded"):
        await mandates(db_url, [*GRANT, "--max-total", "1.001", "--expires", "1d"], timedelta(days=1))
    with pytest.raises(SystemExit, match="was not found"):
        await mandates(db_url, ["revoke", "mdt_nothere"])
