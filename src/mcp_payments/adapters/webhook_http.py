"""Sending webhook deliveries over HTTP (httpx2, which the MCP SDK brings), with the checks against SSRF.

The host is resolved at each delivery and every address it resolves to is checked (a name that resolved to a
public address at creation may point inside the network later: DNS rebinding); the request then goes to the
checked address itself, with the host name kept for the Host header and TLS (SNI and certificate), so no second
lookup can change where it lands. Redirects are not followed, proxies from the environment are not used, the
whole attempt is bounded by TIMEOUT_SECONDS and the answer's body is never read.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx2

from mcp_payments.domain.errors import InvalidInput
from mcp_payments.domain.webhooks import TIMEOUT_SECONDS, Reach, check_address, check_url, ip_literal
from mcp_payments.services.notifications.ports import Response


class HttpTransport:
    def __init__(self, timeout: float = TIMEOUT_SECONDS) -> None:
        self.timeout = timeout

    async def post(self, url: str, headers: Mapping[str, str], body: bytes, reach: Reach) -> Response:
        with anyio.move_on_after(self.timeout):
            return await self._post(url, headers, body, reach)
        return Response(None, f"no answer within {self.timeout:g} s")

    async def _post(self, url: str, headers: Mapping[str, str], body: bytes, reach: Reach) -> Response:
        try:
            target = check_url(url, reach)
            address = await _resolve(target.host, target.port, reach)
        except InvalidInput as refused:
            return Response(None, f"refused: {refused.message}"[:300])
        parts = urlsplit(url)
        host = f"[{address}]" if address.version == 6 else str(address)
        pinned = urlunsplit((parts.scheme, f"{host}:{target.port}", parts.path or "/", parts.query, ""))
        netloc = parts.netloc.rsplit("@", 1)[-1]
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        try:
            async with (
                httpx2.AsyncClient(timeout=self.timeout, follow_redirects=False, trust_env=False) as client,
                client.stream(
                    "POST", pinned, content=body, headers={**headers, "host": netloc}, extensions=extensions
                ) as answer,
            ):
                return Response(answer.status_code, None if answer.is_success else f"HTTP {answer.status_code}")
        except httpx2.TimeoutException:
            return Response(None, f"no answer within {self.timeout:g} s")
        except httpx2.HTTPError as error:
            return Response(None, f"could not connect ({type(error).__name__})")


async def _resolve(host: str, port: int, reach: Reach) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The address to connect to: the host's, once every address it resolves to is allowed."""
    literal = ip_literal(host)
    if literal is not None:
        check_address(literal, reach)
        return literal
    try:
        found = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise InvalidInput(f"the host {host[:100]} does not resolve") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
    if not addresses:
        raise InvalidInput(f"the host {host[:100]} does not resolve")
    for address in addresses:
        check_address(address, reach)
    return addresses[0]
