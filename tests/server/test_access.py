"""What each transport authenticates with, in process: the resource URL, --no-auth only on loopback, and the bearer
tokens the SDK's middleware hands to BearerTokens.verify_token (the e2e tests send them over real HTTP)."""

import json
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from mcp_payments.config import Settings
from mcp_payments.domain.roles import Role
from mcp_payments.server.access import HttpAccess, http_access, network_access, process_access
from mcp_payments.server.callers import CallerToken, local_principal
from mcp_payments.services.access import AuthMode, CredentialType
from mcp_payments.services.keys import KeyService
from tests.conftest import Stack
from tests.server.jwts import ISSUER, Issuer

pytestmark = pytest.mark.anyio
RESOURCE = "http://127.0.0.1:8000/mcp"
EVERY_INTERFACE = "0.0.0.0"  # noqa: S104  # the case under test, never bound here


@pytest.mark.parametrize(
    ("transport", "host", "settings", "url"),
    [
        ("http", "127.0.0.1", {}, "http://127.0.0.1:8000/mcp"),
        ("sse", "LocalHost", {}, "http://localhost:8000/sse"),
        ("http", "::1", {}, "http://[::1]:8000/mcp"),
        (
            "http",
            EVERY_INTERFACE,
            {"allowed_hosts": ("payments.internal:*", "10.0.0.5:8000")},
            "http://payments.internal:8000/mcp",
        ),
        ("http", EVERY_INTERFACE, {"resource_url": "https://x.example/mcp"}, "https://x.example/mcp"),
    ],
)
def test_the_resource_url_is_where_clients_reach_the_endpoint(
    transport: str, host: str, settings: dict[str, Any], url: str
) -> None:
    access = http_access(transport, host, 8000, Settings(**settings))
    assert access == HttpAccess(url, tokens_required=True)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_no_auth_is_accepted_on_a_loopback_address(host: str) -> None:
    assert not http_access("http", host, 8000, Settings(no_auth=True)).tokens_required


@pytest.mark.parametrize("host", [EVERY_INTERFACE, "::", "192.0.2.10", "payments.internal", ""])
def test_no_auth_is_refused_on_any_other_address(host: str) -> None:
    with pytest.raises(ValueError, match="--no-auth is accepted only on a loopback address"):
        http_access("http", host, 8000, Settings(no_auth=True))


async def test_without_a_key_stdio_and_no_auth_callers_are_the_local_user_with_role_agent(stack: Stack) -> None:
    stdio = await process_access(stack.services, stack.settings).callers.current()
    no_auth = await network_access(stack.services, stack.settings, HttpAccess(RESOURCE, False)).callers.current()
    named = await process_access(stack.services, Settings(principal="claude")).callers.current()

    assert (stdio.principal, stdio.role, stdio.auth_mode, stdio.credential) == (
        local_principal(),
        Role.AGENT,
        AuthMode.PROCESS,
        None,
    )
    assert (no_auth.principal, no_auth.auth_mode) == (local_principal(), AuthMode.NONE)
    assert named.principal == "local:claude"


async def test_with_tokens_required_the_sdk_gets_a_verifier_and_the_resource_server_settings(stack: Stack) -> None:
    access = network_access(stack.services, stack.settings, HttpAccess(RESOURCE))
    assert access.verifier is not None
    assert access.auth is not None
    assert str(access.auth.resource_server_url) == RESOURCE
    assert str(access.auth.issuer_url) == "http://127.0.0.1:8000"  # no JWT issuer: none but this server
    assert access.auth.validate_token_resource is False  # audiences are checked by the verifier itself
    with pytest.raises(Exception, match="bearer token"):
        await access.callers.current()  # no request, no token: refused, never the process's own principal


async def test_bearer_tokens_are_api_keys_or_jwts_and_anything_else_is_refused_with_a_logged_reason(
    stack: Stack, tmp_path: Path
) -> None:
    issuer = Issuer()
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(issuer.jwks()))
    settings = Settings(jwt_issuer=ISSUER, jwks=str(jwks))
    verifier = network_access(stack.services, settings, HttpAccess(RESOURCE)).verifier
    assert verifier is not None
    keys = stack.services.get(KeyService)
    agent = await keys.issue("cli:test", "bot", Role.AGENT)
    revoked = await keys.issue("cli:test", "old", Role.AGENT)
    await keys.revoke("cli:test", revoked.key.id)

    by_key = await verifier.verify_token(agent.text)
    by_jwt = await verifier.verify_token(issuer.token(RESOURCE, sub="ada", role="viewer"))
    with capture_logs() as logs:
        refused = [await verifier.verify_token(t) for t in (revoked.text, "garbage", issuer.token("https://x/mcp"))]

    assert isinstance(by_key, CallerToken)
    caller = by_key.caller()
    assert (caller.principal, caller.role, caller.credential) == ("key:bot", Role.AGENT, agent.key.id)
    assert (caller.credential_type, caller.auth_mode) == (CredentialType.API_KEY, AuthMode.BEARER)
    assert (by_key.client_id, by_key.resource, by_key.scopes) == (agent.key.id, RESOURCE, ["payments:agent"])
    assert isinstance(by_jwt, CallerToken)
    assert (by_jwt.principal, by_jwt.role) == ("oauth:ada", Role.VIEWER)
    assert refused == [None, None, None]
    assert [entry["event"] for entry in logs] == ["token_refused"] * 3
    assert "was revoked at" in logs[0]["reason"]
    assert logs[0]["credential"] == revoked.key.id
    assert all(agent.text not in str(entry) and revoked.text not in str(entry) for entry in logs)


async def test_without_a_jwt_issuer_only_api_keys_are_bearer_tokens(stack: Stack) -> None:
    verifier = network_access(stack.services, stack.settings, HttpAccess(RESOURCE)).verifier
    assert verifier is not None
    with capture_logs() as logs:
        assert await verifier.verify_token(Issuer().token(RESOURCE)) is None
    assert "no JWT issuer is configured" in logs[0]["reason"]


async def test_a_stdio_key_is_read_again_on_every_call(stack: Stack) -> None:
    keys = stack.services.get(KeyService)
    issued = await keys.issue("cli:test", "desktop", Role.VIEWER)
    callers = process_access(stack.services, Settings(api_key=issued.text)).callers

    caller = await callers.current()
    assert (caller.principal, caller.role, caller.auth_mode) == ("key:desktop", Role.VIEWER, AuthMode.PROCESS)
    await keys.revoke("cli:test", issued.key.id)
    with pytest.raises(Exception, match="was revoked at"):
        await callers.current()
