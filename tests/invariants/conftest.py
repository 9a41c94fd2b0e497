import pytest

from mcp_payments.services.container import Services
from tests.conftest import Stack


@pytest.fixture
def services(clocked_stack: Stack) -> Services:
    """The real services on a fresh database of each backend, with the test's fake clock."""
    return clocked_stack.services
