"""`serve --transport http` wants a bearer token on every request: an API key, or a JWT from the configured issuer.

A request without one gets 401 pointing at the protected-resource metadata (RFC 9728); a token that is malformed,
unknown, revoked, expired, for another audience, from another issuer or badly signed gets 401 too; a valid one makes
its principal and credential the caller of every tool call, in the audit chain and in the canonical log line. The
key's secret is printed once, by `keys create`, and appears nowhere else.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp.client import Client

from mcp_payments.adapters.db.engine import open_database
from mcp_payments.domain.api_keys import parse_key
from mcp_payments.server.callers import local_user
from mcp_payments.services.commands import Kind
from tests.e2e.jwks_host import jwks_served
from tests.e2e.processes import create_key, launched, network_server, with_token
from tests.e2e.test_cli import assert_one_clear_line, cli
from tests.e2e.test_host_checks import INITIALIZE, MCP_HEADERS
from tests.helpers import ok
from tests.payments.agent import body_of
from tests.payments.card_scan import dump_database
from tests.server.jwts import ISSUER, Issuer
from tests.server.listing import deployment
from tests.tamper import owner

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def initialize(url: str, token: str | None) -> httpx2.Response:
    headers = {**MCP_HEADERS, **({"Authorization": f"Bearer {token}"} if token is not None else {})}
    async with httpx2.AsyncClient(timeout=30) as http:
        return await http.post(url, json=INITIALIZE, headers=headers)


async def expire(db_url: str, key_id: str) -> None:
    """Make a key expired an hour ago, behind the server's back (no test waits for a clock)."""
    created = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S")
    expired = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    async with owner(db_url) as sql:
        await sql(f"UPDATE api_keys SET created_at = '{created}', expires_at = '{expired}' WHERE id = '{key_id}'")


def log_lines(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


async def test_requests_without_a_valid_token_get_401_and_a_valid_jwt_or_key_makes_the_caller(
    db_url: str, tmp_path: Path
) -> None:
    issuer = Issuer()
    revoked = await create_key(db_url, tmp_path, "agent", "soon-revoked")
    expired = await create_key(db_url, tmp_path, "agent", "expired")
    viewer = await create_key(db_url, tmp_path, "viewer", "reader")
    await expire(db_url, expired["id"])
    assert (await cli(tmp_path, "keys", "revoke", revoked["id"], "--db", db_url)).returncode == 0

    with jwks_served(issuer.jwks(), tmp_path / "issuer") as jwks_url:
        env = {"MCP_PAYMENTS_JWT_ISSUER": ISSUER, "MCP_PAYMENTS_JWKS": jwks_url}
        async with launched("http", db_url, tmp_path, env=env) as server:
            await server.ready()
            url = f"{server.base}/mcp"
            metadata_url = f"{server.base}/.well-known/oauth-protected-resource/mcp"
            with anyio.fail_after(120):
                missing = await initialize(url, None)
                assert missing.status_code == 401
                assert f'resource_metadata="{metadata_url}"' in missing.headers["www-authenticate"]
                async with httpx2.AsyncClient(timeout=30) as http:
                    metadata = (await http.get(metadata_url)).json()
                assert metadata["resource"] == url
                assert metadata["authorization_servers"] == [ISSUER]

                impostor = Issuer(issuer.kid, issuer="https://evil.example")
                impostor.private = issuer.private  # the issuer's own key, another issuer's name
                refused = {
                    "not a token": "not-a-token",
                    "malformed key": "mcpp_key_nonsense",
                    "unknown key": f"mcpp_key_{'0' * 26}_{'a' * 43}",
                    "revoked key": revoked["key"],
                    "expired key": expired["key"],
                    "jwt for another audience": issuer.token("https://other.example/mcp"),
                    "jwt from another issuer": impostor.token(url),
                    "jwt with a bad signature": Issuer(issuer.kid).token(url),
                    "expired jwt": issuer.token(url, lifetime=-600),
                    "jwt without a role": issuer.token(url, role=None),
                }
                for what, token in refused.items():
                    response = await initialize(url, token)
                    assert response.status_code == 401, (what, response.status_code, response.text)
                    assert 'error="invalid_token"' in response.headers["www-authenticate"], what
                    assert "serverInfo" not in response.text, what

                async with deployment() as (_, specs):
                    reads = {name for name, spec in specs.items() if spec.kind is Kind.READ}  # what a viewer is shown
                token = issuer.token(url, sub="ada", role="viewer", jti="jwt-ada-1")
                async with with_token("http", server.base, token) as transport, Client(transport) as client:
                    assert {t.name for t in (await client.list_tools()).tools} == reads
                    me = await ok(client, "whoami")
                assert (me["principal"], me["role"], me["credential_id"]) == ("oauth:ada", "viewer", "jwt:jwt-ada-1")
                assert (me["credential_type"], me["auth_mode"]) == ("jwt", "bearer")

                token = issuer.token(url, sub="bob", role=None, scope="openid payments:agent", jti="jwt-bob-1")
                async with with_token("http", server.base, token) as transport, Client(transport) as client:
                    await ok(client, "create_wallet", currency="USD", name="by-jwt")
                async with with_token("http", server.base, viewer["key"]) as transport, Client(transport) as client:
                    [record] = body_of(await client.call_tool("get_audit_log", {"tool": "create_wallet"}))["records"]
                    assert (await ok(client, "whoami"))["principal"] == "key:reader"
                assert (record["principal"], record["credential"]) == ("oauth:bob", "jwt:jwt-bob-1")

    log = server.log.read_text()
    reasons = [line["reason"] for line in log_lines(server.log) if line["event"] == "token_refused"]
    assert len(reasons) == len(refused), reasons  # one line per refused token, saying why (the client is not told)
    assert any("was revoked at" in r for r in reasons)
    assert any("expired at" in r for r in reasons)
    assert any("Signature verification failed" in r for r in reasons)
    for token in [*refused.values(), viewer["key"]]:
        if len(token) > 20:
            assert token not in log, "a bearer token reached the log"


async def test_a_revoked_key_is_refused_on_the_next_request_of_an_open_session(db_url: str, tmp_path: Path) -> None:
    key = await create_key(db_url, tmp_path, "agent")
    async with network_server("http", db_url, tmp_path) as base:
        with anyio.fail_after(120):
            async with with_token("http", base, key["key"]) as transport, Client(transport) as client:
                await ok(client, "create_wallet", currency="USD", name="before")
                assert (await cli(tmp_path, "keys", "revoke", key["id"], "--db", db_url)).returncode == 0
                with pytest.raises(Exception):  # noqa: B017, PT011  # the client's failure on 401 is its own
                    await client.call_tool("list_wallets", {})
            assert (await initialize(f"{base}/mcp", key["key"])).status_code == 401


async def test_the_audit_record_and_the_log_line_of_an_http_call_name_the_key_and_its_secret_is_shown_once(
    db_url: str, tmp_path: Path
) -> None:
    created = await cli(tmp_path, "keys", "create", "--name", "ledger-bot", "--role", "agent", "--db", db_url)
    assert created.returncode == 0, created.stderr.decode()
    [key_text] = [line.split()[1] for line in created.stdout.decode().splitlines() if line.startswith("key:")]
    key_id, secret = parse_key(key_text) or ("", "")
    assert created.stdout.decode().count(secret) == 1
    assert "shown this once" in created.stderr.decode()

    outputs: list[str] = []
    async with network_server("http", db_url, tmp_path) as base:
        with anyio.fail_after(120):
            async with with_token("http", base, key_text) as transport, Client(transport) as client:
                for tool, arguments in [
                    ("whoami", {}),
                    ("create_wallet", {"currency": "USD", "name": "logged"}),
                    ("get_audit_log", {}),
                ]:
                    outputs.append((await client.call_tool(tool, arguments)).model_dump_json())
                me = json.loads(outputs[0])["structured_content"]
                record, issued = json.loads(outputs[2])["structured_content"]["records"]  # newest first
    listed = [await cli(tmp_path, "keys", "list", *json_flag, "--db", db_url) for json_flag in ([], ["--json"])]

    assert (me["principal"], me["credential_id"], me["role"], me["auth_mode"]) == (
        "key:ledger-bot",
        key_id,
        "agent",
        "bearer",
    )
    assert (record["principal"], record["credential"], record["tool"]) == ("key:ledger-bot", key_id, "create_wallet")
    assert (issued["principal"], issued["tool"], issued["entity_ids"]) == (
        f"cli:{local_user()}",
        "create_api_key",
        [key_id],
    )
    [log_path] = [p async for p in anyio.Path(tmp_path).glob("http-*.log")]
    [line] = [e for e in log_lines(Path(log_path)) if e["event"] == "tool_call" and e["tool"] == "create_wallet"]
    assert (line["principal"], line["credential"], line["outcome"]) == ("key:ledger-bot", key_id, "ok")
    assert key_id in listed[0].stdout.decode()
    assert json.loads(listed[1].stdout)[0]["last_used_at"] is not None

    db = open_database(db_url)
    try:
        dump = await dump_database(db.reader)
    finally:
        await db.dispose()
    everywhere = [*outputs, await log_path.read_text(), *dump, *(d.stdout.decode() + d.stderr.decode() for d in listed)]
    assert [text for text in everywhere if secret in text] == []


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--host", "192.0.2.10", "--no-auth"], {}),
        (["--host", "0.0.0.0", "--allowed-hosts", "payments.internal:8000", "--no-auth"], {}),  # noqa: S104  # the case
        (["--host", "192.0.2.10"], {"MCP_PAYMENTS_NO_AUTH": "true"}),
    ],
    ids=["flag", "every-interface", "environment"],
)
async def test_no_auth_off_loopback_refuses_to_start_with_one_clear_line(
    tmp_path: Path, args: list[str], env: dict[str, str]
) -> None:
    done = await cli(tmp_path, "serve", "--transport", "http", *args, env=env)
    assert done.returncode != 0
    assert_one_clear_line(done.stderr, "--no-auth is accepted only on a loopback address", "mcp-payments keys create")


@pytest.mark.parametrize(
    ("env", "phrase"),
    [
        ({"MCP_PAYMENTS_JWT_ISSUER": ISSUER}, "need both MCP_PAYMENTS_JWT_ISSUER"),
        ({"MCP_PAYMENTS_JWKS": "https://auth.example/jwks.json"}, "need both MCP_PAYMENTS_JWT_ISSUER"),
        (
            {"MCP_PAYMENTS_JWT_ISSUER": ISSUER, "MCP_PAYMENTS_JWKS": "http://auth.example/jwks.json"},
            "fetched over plain http",
        ),
        ({"MCP_PAYMENTS_JWT_ISSUER": "auth.example", "MCP_PAYMENTS_JWKS": "jwks.json"}, "is not an http(s) URL"),
    ],
    ids=["issuer-alone", "jwks-alone", "jwks-in-the-clear", "issuer-not-a-url"],
)
async def test_incomplete_or_unsafe_jwt_settings_stop_the_server_with_one_clear_line(
    tmp_path: Path, env: dict[str, str], phrase: str
) -> None:
    done = await cli(tmp_path, "serve", "--transport", "http", env=env)
    assert done.returncode != 0
    assert_one_clear_line(done.stderr, phrase)
