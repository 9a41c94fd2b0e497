"""What `logging.configure` writes to stderr when it is not a terminal: one JSON object per line."""

import io
import json
import logging
import random
import re
from collections.abc import Iterator

import pytest
import structlog

from mcp_payments import logging as app_logging
from mcp_payments.domain.cards import mask_card_numbers
from tests.domain.test_cards import SPELLINGS, cards_in


@pytest.fixture
def stderr(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    captured = io.StringIO()
    monkeypatch.setattr("sys.stderr", captured)
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    app_logging.configure("INFO")
    yield captured
    structlog.reset_defaults()
    root.handlers, root.level = handlers, level


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


@pytest.mark.parametrize(
    ("memo", "logged"),
    [
        ("card 4242.4242.4242.4242 ok", "card ****4242 ok"),
        ("card ４２４２４２４２４２４２４２４２ ok", "card ****4242 ok"),
        ("card ４２４２．４２４２．４２４２．４２４２ ok", "card ****4242 ok"),
        ("card 4242\t4242\n4242 - 4242 ok", "card ****4242 ok"),
        ("ref 00004242424242424242", "ref ****4242"),
        ("order 1234567812345678", "order ****5678"),  # not a card number, but logs take no chances
        ("at 12.34 USD on 2026-01-30", "at 12.34 USD on 2026-01-30"),
    ],
)
def test_a_card_number_in_a_log_line_is_masked_however_it_is_spelt(stderr: io.StringIO, memo: str, logged: str) -> None:
    structlog.get_logger("test").info("x", memo=memo)

    [line] = lines(stderr)
    assert line["memo"] == logged


@pytest.mark.parametrize("text", [text for text, _ in SPELLINGS])
def test_every_spelling_masked_in_free_text_is_masked_in_logs_too(text: str) -> None:
    event = app_logging.redact(None, "info", {"event": "x", "memo": f"paid with {text} today"})

    assert cards_in(event["memo"]) == []


def test_logs_mask_at_least_what_free_text_masking_does_in_random_text() -> None:
    alphabet = "0123456789" * 6 + "４２٤" + " -./,_\t\n\u00a0\u2013\uff0e" * 2 + "ab:*"
    rng = random.Random(13)
    for _ in range(2000):
        text = "".join(rng.choices(alphabet, k=rng.randint(13, 60)))
        logged = app_logging.redact(None, "info", {"memo": text})["memo"]
        assert cards_in(logged) == [], repr(text)
        if mask_card_numbers(text) != text:
            assert logged != text, repr(text)


def test_the_standard_library_s_records_are_lines_like_ours_and_below_warning_only_uvicorn_s(
    stderr: io.StringIO,
) -> None:
    logging.getLogger("uvicorn.error").info("Uvicorn running on %s", "http://127.0.0.1:8000")
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5555", "POST", "/mcp", "1.1", 200)
    logging.getLogger("mcp.server.lowlevel.server").info("Processing request of type CallToolRequest")
    logging.getLogger("mcp.server.transport_security").warning("Invalid Host header: %s", "evil.example")
    logging.getLogger("uvicorn.error").info("card %s", "4242424242424242")

    started, access, refused, masked = lines(stderr)
    assert (started["event"], started["logger"], started["level"]) == (
        "Uvicorn running on http://127.0.0.1:8000",
        "uvicorn.error",
        "info",
    )
    assert access["event"] == '127.0.0.1:5555 - "POST /mcp HTTP/1.1" 200'
    assert (refused["logger"], refused["level"]) == ("mcp.server.transport_security", "warning")
    assert masked["event"] == "card ****4242"
    assert all(
        re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", str(line["timestamp"])) for line in lines(stderr)
    )
