"""The bearer tokens http and sse accept: this server's API keys, and JWTs from a configured issuer.

The SDK's authentication middleware calls verify_token on every request; None makes it answer 401 with
`WWW-Authenticate: Bearer ... resource_metadata="<this server's RFC 9728 metadata>"`. Nothing is cached:
a key revoked in the database is refused from the next request on, by every replica.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog
from mcp.server.auth.provider import AccessToken

from mcp_payments.domain.api_keys import looks_like_key
from mcp_payments.domain.errors import NotAuthenticated
from mcp_payments.server.callers import CallerToken
from mcp_payments.services.access import AuthMode, Caller, CredentialType
from mcp_payments.services.keys import KeyService

if TYPE_CHECKING:
    from mcp_payments.server.jwt_tokens import JwtVerifier

log = structlog.get_logger("mcp_payments.auth")


class BearerTokens:
    """A TokenVerifier (mcp.server.auth.provider) for API keys and, when configured, JWTs."""

    def __init__(self, keys: KeyService, resource_url: str, jwt: JwtVerifier | None = None) -> None:
        self.keys = keys
        self.resource_url = resource_url
        self.jwt = jwt

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            return await self._verify(token)
        except NotAuthenticated as refused:
            # The reason goes to the operator's log, never to the client (it might help someone guessing).
            log.info("token_refused", reason=refused.message, **refused.details)
            return None

    async def _verify(self, token: str) -> CallerToken:
        if looks_like_key(token):
            key = await self.keys.authenticate(token)
            caller = Caller.of_key(key, AuthMode.BEARER)
            return CallerToken(
                token=token,
                client_id=key.id,
                scopes=[f"payments:{key.role}"],
                expires_at=None if key.expires_at is None else int(key.expires_at.timestamp()),
                resource=self.resource_url,
                subject=caller.principal,
                principal=caller.principal,
                role=caller.role,
                credential=key.id,
                credential_type=CredentialType.API_KEY,
            )
        if self.jwt is None:
            raise NotAuthenticated("the bearer token is not an API key (mcpp_...) and no JWT issuer is configured")
        return await self.jwt.verify(token)
