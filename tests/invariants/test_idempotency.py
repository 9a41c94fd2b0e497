"""DESIGN §7 invariant 4: one effect per idempotency key, also when duplicates race other traffic."""

import random
from functools import partial

import anyio
import pytest

from mcp_payments.services.commands import Outcome
from mcp_payments.services.container import Services
from tests.services.wallet_calls import assert_ledger_sound, create_wallet, funded_wallet, row_counts, transfer, wallet

pytestmark = pytest.mark.anyio


async def test_duplicates_of_several_keys_racing_each_other_each_take_effect_once(services: Services) -> None:
    source = await funded_wallet(services, "100.00")
    target = await create_wallet(services)
    keys = [f"payout-{i}" for i in range(6)]
    calls = [partial(transfer, services, source, target, "1.00", key=key) for key in keys for _ in range(5)]
    random.Random(7).shuffle(calls)
    outcomes: dict[str, list[Outcome]] = {}

    async def one(index: int) -> None:
        outcome = await calls[index]()
        outcomes.setdefault(calls[index].keywords["key"], []).append(outcome)

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for index in range(len(calls)):
                tg.start_soon(one, index)

    for key in keys:
        assert sorted(o.deduplicated for o in outcomes[key]) == [False] + [True] * 4, key
        assert len({o.response["transaction_id"] for o in outcomes[key]}) == 1, key
    assert (await wallet(services, source)).posted == 10000 - 600
    assert (await wallet(services, target)).posted == 600
    counts = await row_counts(services)
    # create x2, fund, and one transfer per key: no duplicate left a journal row or an audit record behind.
    assert (counts["journal_transactions"], counts["audit_log"]) == (1 + 6, 3 + 6)
    await assert_ledger_sound(services)
