"""A third-party client: the MCP Inspector CLI (Node) against the stdio server, and over HTTP with an API key."""

import json
import shutil
import sys
from pathlib import Path

import anyio
import pytest

from mcp_payments.domain.roles import Role
from mcp_payments.services.commands import Kind
from tests.e2e.processes import create_key, full_env, isolated_env, network_server, run_tree, serve_args
from tests.server.listing import deployment, shown_to

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("npx") is None, reason="npx (Node.js) is not installed"),
]

# Pinned: checked to work here (Node 20, although its package.json asks for Node >= 22.19).
INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"
# The first run downloads the package from the npm registry.
TIMEOUT = 600


async def run_inspector(db_url: str, tmp_path: Path, name: str, *method: str, exit_code: int = 0) -> dict[str, object]:
    env = {**full_env(tmp_path), "MCP_CATALOG_PATH": str(tmp_path / "inspector-catalog.json")}
    server_env = [arg for key, value in isolated_env(tmp_path).items() for arg in ("-e", f"{key}={value}")]
    command = ["npx", "-y", INSPECTOR, "--cli", *server_env, sys.executable, *serve_args(db_url), *method]
    with anyio.fail_after(TIMEOUT):
        code, out, err = await run_tree(command, tmp_path, name, env)
    assert code == exit_code, f"inspector exited {code}\nstdout:\n{out}\nstderr:\n{err}"
    answer = json.loads(out)
    assert isinstance(answer, dict)
    return answer


async def test_the_mcp_inspector_lists_every_tool_with_its_input_schema(db_url: str, tmp_path: Path) -> None:
    listed = await run_inspector(db_url, tmp_path, "list", "--method", "tools/list")
    async with deployment() as (_, specs):
        expected = shown_to(Role.AGENT, specs)  # the local user, as these servers serve it
    tools = listed["tools"]
    assert isinstance(tools, list)
    assert {tool["name"] for tool in tools} == expected
    for tool in tools:
        assert tool["inputSchema"]["type"] == "object", tool["name"]
        assert "outputSchema" in tool, tool["name"]
        assert "annotations" in tool, tool["name"]


async def test_the_mcp_inspector_calls_the_health_tool(db_url: str, tmp_path: Path) -> None:
    called = await run_inspector(
        db_url, tmp_path, "call", "--method", "tools/call", "--tool-name", "get_service_health"
    )
    assert called.get("isError") is False, called
    health = called["structuredContent"]
    assert isinstance(health, dict)
    assert health["status"] == "ok"
    assert health["database_reachable"] is True


async def test_the_mcp_inspector_takes_a_payment_and_reads_a_decline_as_a_tool_error(
    db_url: str, tmp_path: Path
) -> None:
    pay = ["--method", "tools/call", "--tool-name", "create_payment", "--tool-arg", "currency=USD"]
    paid = await run_inspector(
        db_url, tmp_path, "pay", *pay, "--tool-arg", "amount_minor=1234", "--tool-arg", "payment_method=pm_card_visa"
    )
    assert paid.get("isError") is False, paid
    assert paid["structuredContent"]["payment"]["status"] == "succeeded"  # type: ignore[index]
    # An error result must not trip a client that checks structuredContent against the output schema.
    declined = await run_inspector(
        db_url,
        tmp_path,
        "decline",
        *pay,
        "--tool-arg",
        'amount="12.34"',
        "--tool-arg",
        "payment_method=pm_card_chargeDeclined",
        exit_code=5,  # the Inspector CLI's exit code for a tool result with isError: true
    )
    assert declined.get("isError") is True, declined
    body = json.loads(declined["content"][0]["text"])  # type: ignore[index]
    assert body["code"] == "card_declined"
    assert body["details"]["decline_code"] == "card_declined"


async def test_the_mcp_inspector_over_http_with_a_viewer_key_is_shown_only_the_read_tools(
    db_url: str, tmp_path: Path
) -> None:
    key = (await create_key(db_url, tmp_path, "viewer", "inspector"))["key"]
    async with deployment() as (_, specs):
        reads = {name for name, spec in specs.items() if spec.kind is Kind.READ}  # what a viewer is shown
    env = {**full_env(tmp_path), "MCP_CATALOG_PATH": str(tmp_path / "inspector-catalog.json")}
    async with network_server("http", db_url, tmp_path) as base:
        command = ["npx", "-y", INSPECTOR, "--cli", f"{base}/mcp", "--header", f"Authorization: Bearer {key}"]
        with anyio.fail_after(TIMEOUT):
            code, out, err = await run_tree([*command, "--method", "tools/list"], tmp_path, "http-list", env)
    assert code == 0, f"inspector exited {code}\nstdout:\n{out}\nstderr:\n{err}"
    assert {tool["name"] for tool in json.loads(out)["tools"]} == reads
