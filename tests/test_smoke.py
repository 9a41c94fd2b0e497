import pytest
from mcp.client import Client

from tests.conftest import Stack
from tests.helpers import err, funded_wallet, ok, seal

pytestmark = pytest.mark.anyio


async def test_a_transfer_moves_money_between_two_wallets(client: Client, stack: Stack) -> None:
    a = await funded_wallet(client, "100.00")
    b = await funded_wallet(client, "0")
    moved = await ok(
        client, "transfer_funds", source_wallet_id=a, destination_wallet_id=b, currency="USD", amount="40.50"
    )
    assert moved["source"]["available"]["amount"] == "59.50"
    assert moved["destination"]["available"]["amount"] == "40.50"
    failed = await err(
        client, "transfer_funds", source_wallet_id=a, destination_wallet_id=b, currency="USD", amount="500"
    )
    assert failed["code"] == "insufficient_funds"
    integrity = await ok(client, "check_ledger_integrity")
    assert integrity["ok"], integrity
    unsealed = await ok(client, "verify_audit_chain")
    await seal(stack.services)
    chain = await ok(client, "verify_audit_chain")
    assert (unsealed["valid"], unsealed["records_checked"], unsealed["unsealed_records"]) == (True, 0, 4)
    assert chain["valid"]
    assert (chain["records_checked"], chain["unsealed_records"]) == (4, 0)
