import json

import pytest

from mcp_payments.domain.errors import DomainError, all_error_classes
from mcp_payments.server import errors

pytestmark = pytest.mark.anyio


def test_every_domain_error_class_has_a_mapping_to_what_the_client_sees() -> None:
    unmapped = [cls.__name__ for cls in all_error_classes() if cls not in errors.MAPPING]
    assert unmapped == [], f"add these to server/errors.py MAPPING: {unmapped}"


def test_the_mapping_names_only_domain_errors_that_exist() -> None:
    assert set(errors.MAPPING) <= set(all_error_classes())
    assert all(issubclass(cls, DomainError) for cls in errors.MAPPING)


def test_a_mapped_tool_error_is_a_json_body_with_code_message_retryable_and_details() -> None:
    for cls in all_error_classes():
        if errors.MAPPING[cls] is not errors.Channel.TOOL_ERROR or cls.__init__ is not DomainError.__init__:
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
