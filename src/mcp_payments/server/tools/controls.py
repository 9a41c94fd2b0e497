"""Controls tools: who the server takes the caller for (spending policies and approvals come next)."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from mcp_payments.server.callers import current_caller
from mcp_payments.server.registry import Toolbox
from mcp_payments.services.container import Services


class Identity(BaseModel):
    principal: str = Field(
        description="Who you are to this server, as the audit log records you: key:<name> (an API key), "
        "oauth:<subject> (a JWT) or local:<user> (stdio without a key, or http with --no-auth)."
    )
    role: Literal["viewer", "agent", "operator", "admin"] = Field(
        description="viewer reads; agent also changes state and moves money; operator also approves; admin also "
        "administers."
    )
    credential_id: str | None = Field(
        description="The id of the credential you authenticated with (key_... for an API key, jwt:... for a JWT), "
        "as logs and the audit log name it; null without one."
    )
    credential_type: Literal["api_key", "jwt"] | None
    expires_at: datetime | None = Field(description="When your credential stops working; null: not before revoked.")
    toolsets: list[str] = Field(description="The toolsets in which you may call at least one tool.")
    tool_kinds: list[Literal["read", "write", "money", "approve", "admin"]] = Field(
        description="The kinds of tool your role may call."
    )
    auth_mode: Literal["bearer", "none", "process"] = Field(
        description="How this transport knows who you are: bearer (http/sse: a token on every request), none "
        "(http on a loopback address with --no-auth: whoever connects is the local user) or process (stdio: the "
        "key in MCP_PAYMENTS_API_KEY or the local OS user)."
    )


def register(box: Toolbox, _app: Services) -> None:
    @box.query(toolset="controls", title="Who am I")
    async def whoami() -> Identity:
        """Say who this server takes you for: your principal, role and credential, and what your role lets you
        call. Use it when a tool you expected is missing from tools/list or a call is refused for its role."""
        caller = current_caller()
        allowed = [spec for spec in box.specs.values() if caller.may_call(spec.kind)]
        return Identity(
            principal=caller.principal,
            role=caller.role.value,
            credential_id=caller.credential,
            credential_type=caller.credential_type.value if caller.credential_type else None,
            expires_at=caller.expires_at,
            toolsets=sorted({spec.toolset for spec in allowed}),
            tool_kinds=sorted({spec.kind.value for spec in allowed}),
            auth_mode=caller.auth_mode.value,
        )
