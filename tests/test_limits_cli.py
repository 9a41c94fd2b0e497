"""The `limits` commands in process: set, show and remove a policy as the administrator cli:<OS user>."""

import json
from datetime import timedelta
from typing import Any

import pytest

from mcp_payments import cli, limits_cli
from mcp_payments.config import Settings
from mcp_payments.server.callers import local_user
from tests.conftest import TEST_SECRETS

pytestmark = pytest.mark.anyio


def printed(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """The JSON the command printed: its last line (log lines may come before it when logging is not configured)."""
    return dict(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))


async def limits(db_url: str, argv: list[str], lifetime: timedelta | None = None) -> None:
    settings = Settings(db_url=db_url, background=False, **TEST_SECRETS)
    args = cli.parser().parse_args(["limits", *argv])
    await limits_cli.run(settings, args, lifetime)


async def test_set_show_and_remove_a_limit_from_the_terminal(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    await limits(
        db_url,
        [
            "set",
            "--principal",
            "local:ann",
            "--currency",
            "usd",
            "--max-per-call",
            "50.00",
            "--deny-payees",
            "external, wal_1",
            "--json",
        ],
        timedelta(days=30),
    )
    set_ = printed(capsys)
    assert set_["policy"]["max_per_call"]["amount"] == "50.00"
    assert set_["policy"]["denied_payees"] == ["external", "wal_1"]
    assert set_["policy"]["updated_by"] == f"cli:{local_user()}"
    assert set_["policy"]["expires_at"] is not None

    await limits(db_url, ["show", "--principal", "local:ann", "--json"])
    assert printed(capsys)["budgets"][0]["policy"] == set_["policy"]
    await limits(db_url, ["set", "--role", "agent", "--currency", "EUR", "--daily", "10", "--json"])
    capsys.readouterr()
    await limits(db_url, ["show", "--json"])
    assert [p["subject"] for p in printed(capsys)["policies"]] == ["local:ann", "role:agent"]

    await limits(db_url, ["set", "--principal", "local:ann", "--currency", "USD", "--remove", "--json"])
    assert printed(capsys)["removed"] is True


async def test_a_bad_limit_exits_with_the_tools_message(db_url: str) -> None:
    with pytest.raises(SystemExit, match="amounts are never rounded"):
        await limits(db_url, ["set", "--role", "agent", "--currency", "USD", "--daily", "1.001"])
