"""erase_customer_data's and enable_webhook_endpoint's bad-input table: every row is refused with a clear code
and writes nothing."""

import pytest
from mcp.shared.exceptions import MCPError

from mcp_payments.domain.roles import Role
from tests.compliance.conftest import agent_as
from tests.conftest import Stack
from tests.payments.agent import Agent
from tests.server.listing import deployment, shown_to
from tests.server.rows import row_counter
from tests.server.test_bad_input import BAD, Case, assert_refusal

pytestmark = pytest.mark.anyio

UNKNOWN_CUSTOMER = "cus_00000000000000000000000000"
UNKNOWN_ENDPOINT = "whe_00000000000000000000000000"

TABLE: dict[str, Case] = {
    "erase-unknown": Case("erase_customer_data", {"customer_id": UNKNOWN_CUSTOMER}, "customer_not_found"),
    "erase-missing-id": Case("erase_customer_data", {}, BAD),
    "erase-empty-id": Case("erase_customer_data", {"customer_id": ""}, BAD),
    "erase-a-payment-id": Case("erase_customer_data", {"customer_id": "$payment"}, BAD),
    "erase-path-traversal": Case("erase_customer_data", {"customer_id": "cus_../../x"}, BAD),
    "erase-sql-in-id": Case("erase_customer_data", {"customer_id": "cus_1' OR '1'='1"}, BAD),
    "erase-id-10kb": Case("erase_customer_data", {"customer_id": "cus_" + "a" * 10_240}, BAD),
    "erase-id-a-number": Case("erase_customer_data", {"customer_id": 12}, BAD),
    "erase-id-a-list": Case("erase_customer_data", {"customer_id": ["$customer"]}, BAD),
    "erase-by-name": Case("erase_customer_data", {"customer_id": "$customer", "name": "Ada"}, BAD),
    "erase-key-too-short": Case("erase_customer_data", {"customer_id": "$customer", "idempotency_key": "k"}, BAD),
    "enable-unknown": Case("enable_webhook_endpoint", {"endpoint_id": UNKNOWN_ENDPOINT}, "webhook_endpoint_not_found"),
    "enable-missing-id": Case("enable_webhook_endpoint", {}, BAD),
    "enable-a-delivery-id": Case("enable_webhook_endpoint", {"endpoint_id": "whd_00000000000000000000000000"}, BAD),
    "enable-with-nul": Case("enable_webhook_endpoint", {"endpoint_id": "whe_\u0000"}, BAD),
    "enable-id-a-number": Case("enable_webhook_endpoint", {"endpoint_id": 7}, BAD),
}


async def test_bad_input_is_refused_with_a_clear_code_and_writes_nothing(
    admin: Agent, clocked_stack: Stack, subtests: pytest.Subtests
) -> None:
    customer = (await admin.ok("create_customer", name="Ada Lovelace"))["customer"]["id"]
    payment = (await admin.pay("10.00"))["id"]
    names = {"$customer": customer, "$payment": payment}
    async with row_counter(clocked_stack.settings.db_url) as count:
        for name, case in TABLE.items():
            with subtests.test(name):
                arguments = {
                    k: ([names.get(x, x) for x in v] if isinstance(v, list) else names.get(v, v))
                    if isinstance(v, (str, list))
                    else v
                    for k, v in case.arguments.items()
                }
                before = await count()
                result = await admin.call(case.tool, **arguments)
                assert result.is_error, f"{case.tool} accepted it: {result.structured_content}"
                assert_refusal(result.content[0].text, result.structured_content, case.code)  # type: ignore[union-attr]
                assert await count() == before, "a refused call wrote rows"


@pytest.mark.parametrize("role", list(Role))
async def test_only_an_admin_is_shown_erase_customer_data(role: Role) -> None:
    async with deployment() as (tools, specs):
        assert ("erase_customer_data" in shown_to(role, specs)) is (role is Role.ADMIN)
        assert specs["erase_customer_data"].toolset == "compliance"
        annotations = tools["erase_customer_data"].annotations
        assert annotations is not None
        assert annotations.destructive_hint is True
    async with deployment(read_only=True) as (tools, _):
        assert "erase_customer_data" not in tools


async def test_an_operator_calling_erase_customer_data_is_refused_and_nothing_changes(
    admin: Agent, clocked_stack: Stack
) -> None:
    customer = (await admin.ok("create_customer", name="Ada Lovelace"))["customer"]["id"]
    async for operator in agent_as(clocked_stack, Role.OPERATOR, "ops"):
        with pytest.raises(MCPError, match="needs role admin"):  # a permission failure is a protocol error
            await operator.call("erase_customer_data", customer_id=customer)
    assert (await admin.ok("get_customer", customer_id=customer))["name"] == "Ada Lovelace"
