"""Where deliveries may go: HTTPS to public addresses; loopback and private ranges only when a setting allows them;
every address a host resolves to is checked at delivery time, and the request is pinned to a checked address."""

import ipaddress
import socket
from typing import Any

import pytest

from mcp_payments.adapters import webhook_http
from mcp_payments.adapters.webhook_http import HttpTransport
from mcp_payments.domain.errors import InvalidInput
from mcp_payments.domain.webhooks import Reach, check_url

STRICT = Reach()
DEV = Reach(allow_loopback=True)
LAN = Reach(allow_private=True)

REFUSED: dict[str, tuple[str, Reach]] = {
    "plain-http-public": ("http://example.com/hooks", STRICT),
    "plain-http-private-even-if-allowed": ("http://10.0.0.5/hooks", LAN),
    "ftp": ("ftp://example.com/hooks", DEV),
    "file": ("file:///etc/passwd", DEV),
    "no-host": ("https:///hooks", STRICT),
    "credentials": ("https://user:pw@example.com/hooks", STRICT),
    "loopback-v4": ("https://127.0.0.1/hooks", STRICT),
    "loopback-other": ("https://127.8.9.10/hooks", STRICT),
    "loopback-v6": ("https://[::1]/hooks", STRICT),
    "localhost-name": ("https://localhost/hooks", STRICT),
    "localhost-subdomain": ("https://api.localhost/hooks", STRICT),
    "private-10": ("https://10.1.2.3/hooks", STRICT),
    "private-172": ("https://172.16.0.1/hooks", STRICT),
    "private-192": ("https://192.168.1.1/hooks", STRICT),
    "link-local-metadata": ("https://169.254.169.254/latest/meta-data", STRICT),
    "link-local-v6": ("https://[fe80::1]/hooks", STRICT),
    "unique-local-v6": ("https://[fd00::1]/hooks", STRICT),
    "v4-mapped-private": ("https://[::ffff:10.0.0.1]/hooks", STRICT),
    "v4-mapped-loopback": ("https://[::ffff:127.0.0.1]/hooks", STRICT),
    "shared-cgnat": ("https://100.64.0.1/hooks", STRICT),
    "reserved": ("https://240.0.0.1/hooks", STRICT),
    "multicast": ("https://224.0.0.1/hooks", LAN),
    "unspecified": ("https://0.0.0.0/hooks", LAN),
    "broadcast": ("https://255.255.255.255/hooks", STRICT),
    "bad-port": ("https://example.com:99999/hooks", STRICT),
    "space": ("https://example.com/ho oks", STRICT),
    "newline": ("https://example.com/\nhooks", STRICT),
    "non-ascii-host": ("https://exämple.com/hooks", STRICT),
    "fragment": ("https://example.com/hooks#x", STRICT),
    "too-long": ("https://example.com/" + "a" * 2100, STRICT),
}

ALLOWED: dict[str, tuple[str, Reach]] = {
    "public-name": ("https://hooks.example.com/in", STRICT),
    "public-v4": ("https://93.184.216.34/in", STRICT),
    "public-v6": ("https://[2606:2800:220:1:248:1893:25c8:1946]/in", STRICT),
    "loopback-in-development": ("http://127.0.0.1:8080/in", DEV),
    "localhost-in-development": ("http://localhost:8080/in", DEV),
    "private-where-allowed": ("https://10.0.0.5/in", LAN),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_url_deliveries_may_not_go_to_is_refused_when_the_endpoint_is_created(case: str) -> None:
    url, reach = REFUSED[case]
    with pytest.raises(InvalidInput) as refused:
        check_url(url, reach)
    assert refused.value.message


@pytest.mark.parametrize("case", ALLOWED)
def test_a_url_deliveries_may_go_to_is_accepted(case: str) -> None:
    url, reach = ALLOWED[case]
    check_url(url, reach)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        (["10.0.0.7"], "private"),
        (["93.184.216.34", "127.0.0.1"], "loopback"),  # one bad address among good ones is enough
        (["169.254.169.254"], "private"),
        (["fd00::7"], "private"),
    ],
)
async def test_a_public_name_that_resolves_inside_at_delivery_time_is_refused_without_a_request(
    monkeypatch: pytest.MonkeyPatch, answers: list[str], reason: str
) -> None:
    async def resolve(host: str, port: int, **_: Any) -> list[Any]:
        assert host == "hooks.example.com"
        family = {4: socket.AF_INET, 6: socket.AF_INET6}
        return [(family[ipaddress.ip_address(a).version], socket.SOCK_STREAM, 6, "", (a, port)) for a in answers]

    monkeypatch.setattr(webhook_http.anyio, "getaddrinfo", resolve)
    response = await HttpTransport().post("https://hooks.example.com/in", {}, b"{}", STRICT)
    assert response.status_code is None
    assert response.error is not None
    assert response.error.startswith("refused:")
    assert reason in response.error


@pytest.mark.anyio
async def test_a_redirect_is_not_followed_and_counts_as_a_failure() -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    hits: list[str] = []

    class Redirecting(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # the name http.server calls
            hits.append(self.path)
            self.send_response(307)
            self.send_header("location", "http://169.254.169.254/latest/meta-data")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # http.server's signature
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/in"
        response = await HttpTransport().post(url, {}, b"{}", DEV)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert (response.status_code, response.error) == (307, "HTTP 307")
    assert hits == ["/in"]


@pytest.mark.anyio
async def test_a_receiver_that_is_not_listening_is_a_failed_attempt_not_a_crash() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free once closed: nothing listens there
    response = await HttpTransport().post(f"http://127.0.0.1:{port}/in", {}, b"{}", DEV)
    assert response.status_code is None
    assert response.error is not None
    assert response.error.startswith("could not connect")
