"""Which Host and Origin headers the HTTP transports answer: DNS-rebinding protection, always on.

The SDK switches the protection on by itself only when --host is exactly 127.0.0.1, localhost or ::1;
bound to any other address it would answer a request with any Host, so a web page whose name an
attacker points at this address could call the tools from a victim's browser. Here the allowed values
are always given: the names of --host and --port, the loopback names when --host is a loopback
address (with any port, as the SDK allows them: a forwarded port keeps working), and what the operator
lists (MCP_PAYMENTS_ALLOWED_HOSTS, MCP_PAYMENTS_ALLOWED_ORIGINS). Other requests get 421 (Host) or
403 (Origin). A request without an Origin header (any client but a browser) is not refused for it.
"""

from __future__ import annotations

import ipaddress

from mcp.server.transport_security import TransportSecuritySettings

from mcp_payments.config import Settings

LOOPBACK_HOSTS = ("127.0.0.1:*", "localhost:*", "[::1]:*")
LOOPBACK_ORIGINS = ("http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*")


def transport_security(host: str, port: int, settings: Settings) -> TransportSecuritySettings:
    """The Host and Origin checks for `serve --host HOST --port PORT`.

    Raises ValueError when HOST is every interface (0.0.0.0, ::) and no allowed host is listed: the names
    clients use to reach the server cannot be known from the address it binds to.
    """
    hosts: list[str] = []
    origins: list[str] = []
    if every_interface(host):
        if not settings.allowed_hosts:
            raise ValueError(
                f"--host {host or repr(host)} listens on every interface, so the names clients reach this server by "
                "are unknown: list them (with the port they use) in --allowed-hosts or MCP_PAYMENTS_ALLOWED_HOSTS, "
                f"e.g. payments.internal:{port}"
            )
    else:
        name = f"[{host}]" if ":" in host else host.lower()
        hosts += [name, f"{name}:{port}"]
        origins.append(f"http://{name}:{port}")
        if is_loopback(host):
            hosts += LOOPBACK_HOSTS
            origins += LOOPBACK_ORIGINS
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=list(dict.fromkeys([*hosts, *settings.allowed_hosts])),
        allowed_origins=list(dict.fromkeys([*origins, *settings.allowed_origins])),
    )


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None  # a name


def every_interface(host: str) -> bool:
    address = _address(host)
    return host == "" or (address is not None and address.is_unspecified)


def is_loopback(host: str) -> bool:
    address = _address(host)
    return host.lower() == "localhost" or (address is not None and address.is_loopback)
