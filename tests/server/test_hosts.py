"""The Host and Origin checks given to the HTTP transports for each --host."""

import pytest

from mcp_payments.config import Settings
from mcp_payments.server.hosts import LOOPBACK_HOSTS, LOOPBACK_ORIGINS, transport_security


def test_protection_is_on_for_an_address_the_sdk_would_leave_unprotected() -> None:
    security = transport_security("127.0.0.2", 8123, Settings())
    assert security.enable_dns_rebinding_protection
    assert {"127.0.0.2", "127.0.0.2:8123"} <= set(security.allowed_hosts)
    assert "http://127.0.0.2:8123" in security.allowed_origins
    assert "evil.example" not in security.allowed_hosts


def test_loopback_keeps_the_loopback_names_on_any_port_as_the_sdk_allowed_them() -> None:
    for host in ("127.0.0.1", "localhost", "::1"):
        security = transport_security(host, 8000, Settings())
        assert set(LOOPBACK_HOSTS) <= set(security.allowed_hosts)
        assert set(LOOPBACK_ORIGINS) <= set(security.allowed_origins)


def test_a_named_or_ipv6_host_is_allowed_as_clients_write_it_and_no_loopback_name_is() -> None:
    named = transport_security("Payments.Internal", 9000, Settings())
    assert named.allowed_hosts == ["payments.internal", "payments.internal:9000"]
    assert named.allowed_origins == ["http://payments.internal:9000"]
    ipv6 = transport_security("fd00::5", 9000, Settings())
    assert ipv6.allowed_hosts == ["[fd00::5]", "[fd00::5]:9000"]
    assert ipv6.allowed_origins == ["http://[fd00::5]:9000"]


def test_listed_hosts_and_origins_are_added_once() -> None:
    settings = Settings(allowed_hosts=("payments.example.com", "10.0.0.5:8000"), allowed_origins=("https://a.example",))
    security = transport_security("10.0.0.5", 8000, settings)
    assert security.allowed_hosts == ["10.0.0.5", "10.0.0.5:8000", "payments.example.com"]
    assert security.allowed_origins == ["http://10.0.0.5:8000", "https://a.example"]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", ""])  # noqa: S104  # the bind-everything case under test
def test_binding_every_interface_needs_the_names_clients_use(host: str) -> None:
    with pytest.raises(ValueError, match=r"listens on every interface.*--allowed-hosts or MCP_PAYMENTS_ALLOWED_HOSTS"):
        transport_security(host, 8000, Settings())
    security = transport_security(host, 8000, Settings(allowed_hosts=("payments.internal:8000",)))
    assert security.enable_dns_rebinding_protection
    assert security.allowed_hosts == ["payments.internal:8000"], "the bind address is no name a client uses"
    assert security.allowed_origins == []
