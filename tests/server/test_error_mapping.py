import json

import pytest

from mcp_payments.domain.errors import DomainError, all_error_classes
from mcp_payments.server import errors

pytestmark = pytest.mark.anyio


def test_only_permission_failures_are_protocol_errors_and_every_other_error_is_a_tool_error() -> None:
    channels = {cls.__name__: errors.channel(cls) for cls in all_error_classes()}

    assert {n for n, c in channels.items() if c is errors.Channel.PROTOCOL_ERROR} == {
        "PermissionDenied",
        "ToolDisabled",
        "RoleRequired",
        "NotAuthenticated",
    }
    assert set(errors.PROTOCOL_ERRORS) <= set(all_error_classes())


def test_a_mapped_tool_error_is_a_json_body_with_code_message_retryable_and_details() -> None:
    for cls in all_error_classes():
        if errors.channel(cls) is not errors.Channel.TOOL_ERROR or cls.__init__ is not DomainError.__init__:
            continue
        result = errors.to_result(cls("what to do next", thing="x"))
        assert result.is_error
        assert result.structured_content is None  # the body is text: a client validates structuredContent
        assert json.loads(result.content[0].text) == {  # type: ignore[union-attr]
            "code": cls.code,
            "message": "what to do next",
            "retryable": cls.retryable,
            "details": {"thing": "x"},
        }
