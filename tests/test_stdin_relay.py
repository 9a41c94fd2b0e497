"""The stdin relay (Ctrl+C on stdio): what comes in on stdin reaches fd 0, and ending it is an end of input at once."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest

from mcp_payments.stdin_relay import StdinRelay


@pytest.fixture
def client_pipe() -> Iterator[int]:
    """fd 0 is the read end of a pipe, as when a host launches the server; yields the write end (the client's).
    The test process's own fd 0 is put back afterwards."""
    saved = os.dup(0)
    read_end, write_end = os.pipe()
    os.dup2(read_end, 0)
    os.close(read_end)
    try:
        yield write_end
    finally:
        os.dup2(saved, 0)
        os.close(saved)
        with contextlib.suppress(OSError):  # closed by the test already
            os.close(write_end)


def read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_what_the_client_writes_reaches_the_server_and_its_close_ends_the_input(client_pipe: int) -> None:
    StdinRelay()
    os.write(client_pipe, b'{"jsonrpc": "2.0"}\n' * 1000)
    os.close(client_pipe)
    assert read_all(0) == b'{"jsonrpc": "2.0"}\n' * 1000


def test_ending_the_relay_ends_the_input_while_the_client_keeps_its_end_open(client_pipe: int) -> None:
    relay = StdinRelay()
    os.write(client_pipe, b"first\n")
    assert os.read(0, 100) == b"first\n"
    relay.end()
    relay.end()  # twice is once
    assert os.read(0, 100) == b""  # end of input, though the client is still there
