"""What `logging.configure` writes to stderr when it is not a terminal: one JSON object per line."""

import io
import json
import re
from collections.abc import Iterator

import pytest
import structlog

from mcp_payments import logging as app_logging


@pytest.fixture
def stderr(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    captured = io.StringIO()
    monkeypatch.setattr("sys.stderr", captured)
    app_logging.configure("INFO")
    yield captured
    structlog.reset_defaults()


def lines(stderr: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stderr.getvalue().splitlines()]


def test_a_line_carries_the_calls_context_its_level_and_a_utc_timestamp(stderr: io.StringIO) -> None:
    token = app_logging.bind_call(tool="get_wallet", principal="local")
    try:
        structlog.get_logger("test").info("tool_call", outcome="ok", duration_ms=0.5)
    finally:
        app_logging.unbind_call(token)
    structlog.get_logger("test").info("after")

    first, second = lines(stderr)
    assert first["event"] == "tool_call"
    assert [first[key] for key in ("tool", "principal", "outcome", "level")] == ["get_wallet", "local", "ok", "info"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", str(first["timestamp"]))
    assert "tool" not in second  # the context ends with the call


def test_secrets_and_card_numbers_are_redacted(stderr: io.StringIO) -> None:
    structlog.get_logger("test").info("x", card_number="4242424242424242", memo="card 4242 4242 4242 4242 ok")

    [line] = lines(stderr)
    assert line["card_number"] == "[redacted]"
    assert line["memo"] == "card ****4242 ok"
    assert "4242424242424242" not in stderr.getvalue()


def test_an_exception_is_rendered_as_text_with_card_numbers_masked(stderr: io.StringIO) -> None:
    try:
        raise ValueError("card 4000000000000002 was declined")
    except ValueError:
        structlog.get_logger("test").exception("tool_crashed")

    [line] = lines(stderr)
    assert line["level"] == "error"
    assert "ValueError: card ****0002 was declined" in str(line["exception"])
    assert "4000000000000002" not in stderr.getvalue()
