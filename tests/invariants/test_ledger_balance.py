"""DESIGN §7 invariants 1 and 2 after a concurrent mix of every kind of posting, FX included."""

import random
from collections.abc import Awaitable, Callable
from contextlib import suppress
from decimal import Decimal
from functools import partial
from typing import Any

import anyio
import pytest

from mcp_payments.domain.errors import DomainError
from mcp_payments.services.container import Services
from tests.services import wallet_calls as calls
from tests.services.wallet_calls import assert_ledger_sound, balances, integrity

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"fx_rates": {"EUR/USD": Decimal("1.0837"), "USD/JPY": Decimal("151.237")}}


async def test_a_concurrent_mixed_workload_keeps_every_transaction_and_balance_consistent(services: Services) -> None:
    rng = random.Random(2026)
    wallets = {
        "USD": [await calls.funded_wallet(services, "50.00") for _ in range(3)],
        "EUR": [await calls.funded_wallet(services, "50.00", "EUR") for _ in range(2)],
        "JPY": [await calls.funded_wallet(services, "5000", "JPY")],
    }
    holds = [await calls.hold(services, rng.choice(wallets["USD"]), "1.00") for _ in range(6)]
    everyone = [(w, cur) for cur, ws in wallets.items() for w in ws]

    def amount(cur: str) -> str:
        return str(rng.randint(1, 900)) if cur == "JPY" else f"{rng.randint(1, 900) / 100:.2f}"

    def random_call() -> Callable[[], Awaitable[object]]:
        (source, cur), (target, _) = rng.sample(everyone, 2)
        value, hold_id, destination = amount(cur), rng.choice(holds), rng.choice([None, *wallets["USD"]])
        match rng.choice(["fund", "withdraw", "transfer", "transfer", "hold", "capture", "release"]):
            case "fund":
                return partial(calls.fund, services, source, value, cur)
            case "withdraw":
                return partial(calls.withdraw, services, source, value, cur)
            case "transfer":
                return partial(calls.transfer, services, source, target, value, cur)
            case "hold":
                return partial(calls.hold, services, source, value, cur)
            case "capture":
                return partial(calls.capture, services, hold_id, "0.40", destination)
            case _:
                return partial(calls.release, services, hold_id)

    workload = [random_call() for _ in range(80)]

    async def one(call: Callable[[], Awaitable[object]]) -> None:
        with suppress(DomainError):  # refusals are expected; the ledger must stay sound either way
            await call()

    with anyio.fail_after(120):
        async with anyio.create_task_group() as tg:
            for call in workload:
                tg.start_soon(one, call)

    await assert_ledger_sound(services)
    report = await integrity(services)
    assert set(report.totals_by_currency) == {"USD", "EUR", "JPY"}
    assert report.transactions > len(everyone)
    per_currency: dict[str, int] = {}
    for account_id, (posted, _) in (await balances(services)).items():
        currency = account_id[-3:] if account_id.startswith("acc_") else next(c for w, c in everyone if w == account_id)
        per_currency[currency] = per_currency.get(currency, 0) + posted
    assert per_currency == {"USD": 0, "EUR": 0, "JPY": 0}
