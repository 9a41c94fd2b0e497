"""The `approvals` commands in process: the human at the terminal (cli:<OS user>) lists, approves and rejects."""

import json
from typing import Any

import pytest

from mcp_payments import approvals_cli, cli
from mcp_payments.config import Settings
from mcp_payments.domain.roles import Role
from mcp_payments.server.callers import local_user
from tests.conftest import TEST_SECRETS, Stack
from tests.controls.test_approvals import AGENT, client_as, held_transfer, posted, wallets
from tests.controls.test_spending_limits import set_policy
from tests.helpers import ok

pytestmark = pytest.mark.anyio


async def approvals(db_url: str, argv: list[str]) -> None:
    settings = Settings(db_url=db_url, background=False, **TEST_SECRETS)
    await approvals_cli.run(settings, cli.parser().parse_args(["approvals", *argv]))


def printed(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    return dict(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))


async def test_approve_and_reject_from_the_terminal(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    await set_policy(stack, AGENT, approval_above=50_00)
    async with client_as(stack, AGENT, Role.AGENT) as agent:
        source, destination = await wallets(agent)
        first = (await held_transfer(agent, source, destination)).structured_content["approval_id"]
        second = (await held_transfer(agent, source, destination, "60.00")).structured_content["approval_id"]

        await approvals(stack.settings.db_url, ["list"])
        listed = capsys.readouterr().out
        await approvals(stack.settings.db_url, ["approve", first, "--json"])
        approved = printed(capsys)["approval"]
        await approvals(stack.settings.db_url, ["reject", second, "--reason", "too much"])
        rejected = capsys.readouterr().out
        with pytest.raises(SystemExit, match="no longer pending"):
            await approvals(stack.settings.db_url, ["approve", second])

        assert first in listed
        assert second in listed
        assert f"{AGENT}  transfer_funds  50.01 USD to {destination}" in listed
        assert (approved["status"], approved["decided_by"]) == ("executed", f"cli:{local_user()}")
        assert f"{second} rejected" in rejected
        assert await posted(agent, destination) == "50.01"
        assert (await ok(agent, "get_approval", approval_id=second))["reason"] == "too much"
