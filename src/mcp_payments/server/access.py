"""How each transport finds its caller, and what the SDK is told to serve for it (RFC 9728 metadata, 401s).

- stdio and in-memory: the process's principal, the key in MCP_PAYMENTS_API_KEY (checked at start and on
  every call) or else the local OS user, local:<name>, with role agent.
- http and sse: a bearer token on every request, an API key or a JWT (server/tokens.py), through the SDK's
  resource-server support: `token_verifier=` and `auth=` on the server, so that a request without a valid
  token gets 401 with `WWW-Authenticate: Bearer ... resource_metadata=...` and the protected-resource
  metadata is served at /.well-known/oauth-protected-resource/<path>.
- http and sse with --no-auth: accepted on a loopback address only; every request is the local user, agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from mcp.server.auth.settings import AuthSettings

from mcp_payments.config import Settings
from mcp_payments.domain.roles import Role
from mcp_payments.server.callers import Callers, local_principal
from mcp_payments.server.hosts import every_interface, is_loopback
from mcp_payments.server.tokens import BearerTokens
from mcp_payments.services.access import AuthMode, Caller
from mcp_payments.services.container import Services
from mcp_payments.services.keys import KeyService

PATHS = {"http": "/mcp", "sse": "/sse"}


@dataclass(frozen=True, slots=True)
class HttpAccess:
    """What `serve --transport http|sse` needs for its callers: tokens for `resource_url`, or none (--no-auth)."""

    resource_url: str
    tokens_required: bool = True


@dataclass(frozen=True, slots=True)
class Access:
    callers: Callers
    verifier: BearerTokens | None = None  # with `auth`: the SDK's token_verifier= and auth=
    auth: AuthSettings | None = None


def http_access(transport: str, host: str, port: int, settings: Settings) -> HttpAccess:
    """The access of `serve --transport http|sse --host HOST --port PORT`; ValueError for --no-auth off loopback."""
    if settings.no_auth and not is_loopback(host):
        raise ValueError(
            f"--no-auth is accepted only on a loopback address (127.0.0.1, ::1, localhost), and --host {host!r} "
            "can be reached from other machines: create an API key (mcp-payments keys create --name NAME --role "
            "agent) and send it as a bearer token instead"
        )
    return HttpAccess(
        settings.resource_url or default_resource_url(transport, host, port, settings), not settings.no_auth
    )


def default_resource_url(transport: str, host: str, port: int, settings: Settings) -> str:
    """http://HOST:PORT/mcp (or /sse); bound to every interface, the first allowed host names the server."""
    path = PATHS[transport]
    if every_interface(host) and settings.allowed_hosts:
        name = settings.allowed_hosts[0].replace(":*", f":{port}")
        return f"http://{name}{path}"
    name = f"[{host}]" if ":" in host else host.lower()
    return f"http://{name}:{port}{path}"


def process_access(services: Services, settings: Settings) -> Access:
    """stdio and in-memory clients: the key in MCP_PAYMENTS_API_KEY, read again on every call, or the local user."""
    if settings.api_key is None:
        return Access(Callers.fixed(Caller(local_principal(settings.principal), Role.AGENT, AuthMode.PROCESS)))
    keys, key = services.get(KeyService), settings.api_key

    async def own() -> Caller:
        return Caller.of_key(await keys.authenticate(key), AuthMode.PROCESS)

    return Access(Callers(own, AuthMode.PROCESS))


def network_access(services: Services, settings: Settings, http: HttpAccess) -> Access:
    if not http.tokens_required:
        return Access(Callers.fixed(Caller(local_principal(settings.principal), Role.AGENT, AuthMode.NONE)))
    jwt = None
    if settings.jwt_issuer is not None and settings.jwks is not None:
        audience = settings.jwt_audience or http.resource_url
        from mcp_payments.server.jwt_tokens import JwtSettings, JwtVerifier  # PyJWT: only when JWTs are accepted

        jwt = JwtVerifier(JwtSettings(settings.jwt_issuer, audience, settings.jwks, settings.jwt_role_claim))
    # Without a JWT issuer, the "authorization server" the metadata names is this server's own origin: there is
    # none to get a token from, and clients are configured with an API key instead.
    url = urlsplit(http.resource_url)
    issuer = settings.jwt_issuer or f"{url.scheme}://{url.netloc}"
    auth = AuthSettings(
        issuer_url=issuer,
        resource_server_url=http.resource_url,
        # The verifier checks each token's audience itself (a JWT's aud; an API key is this server's by nature).
        validate_token_resource=False,
    )
    return Access(Callers(None, AuthMode.BEARER), BearerTokens(services.get(KeyService), http.resource_url, jwt), auth)
