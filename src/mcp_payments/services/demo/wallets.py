"""Wallets of a demo history: opened early, funded from outside, money moved between them and withdrawn."""

from __future__ import annotations

import random
from datetime import datetime

from mcp_payments.domain.ledger import AccountType, Entry, system_account_id
from mcp_payments.services.demo.recorder import Recorder

WALLET_CURRENCIES = ("USD", "USD", "USD", "EUR")


class WalletMaker:
    def __init__(self, rec: Recorder, rng: random.Random) -> None:
        self.rec = rec
        self.rng = rng
        self.balances: dict[str, int] = {}  # the history's own wallets: no overdraft, as the ledger demands
        self.by_currency: dict[str, list[str]] = {}

    def open(self, n: int, at: datetime) -> None:
        """create_wallet: the account row and its audit record."""
        currency = WALLET_CURRENCIES[n % len(WALLET_CURRENCIES)]
        wid = self.rec.new_id("wal", at)
        name = f"Demo wallet {n + 1}"
        self.rec.add(
            "accounts",
            {
                "id": wid,
                "type": AccountType.WALLET.value,
                "currency": currency,
                "allow_overdraft": False,
                "posted": 0,
                "pending": 0,
                "name": name,
                "created_at": at,
            },
        )
        self.balances[wid] = 0
        self.by_currency.setdefault(currency, []).append(wid)
        self.rec.record("create_wallet", at, {"currency": currency, "name": name}, [wid])

    def operate(self, at: datetime) -> None:
        """One call: fund_wallet, transfer_funds or withdraw_from_wallet, on a wallet drawn at random."""
        currency = self.rng.choice(sorted(self.by_currency))
        wallets = self.by_currency[currency]
        source = self.rng.choice(wallets)
        x = self.rng.random()
        balance = self.balances[source]
        if balance < 10_000 or x < 0.35 or (len(wallets) < 2 and x < 0.9):
            amount = self.rng.randint(50, 5_000) * 100
            self._move("fund", "fund_wallet", system_account_id(AccountType.EXTERNAL, currency), source, amount, at)
        elif x < 0.9:
            target = self.rng.choice([w for w in wallets if w != source])
            amount = max(1, balance * self.rng.randint(1, 30) // 100)
            self._move("transfer", "transfer_funds", source, target, amount, at)
        else:
            amount = max(1, balance * self.rng.randint(1, 20) // 100)
            world = system_account_id(AccountType.EXTERNAL, currency)
            self._move("withdrawal", "withdraw_from_wallet", source, world, amount, at)

    def _move(self, kind: str, tool: str, source: str, target: str, amount: int, at: datetime) -> None:
        currency = next(c for c, ws in self.by_currency.items() if source in ws or target in ws)
        txn = self.rec.post(kind, [Entry(source, -amount, currency), Entry(target, amount, currency)], None, at, None)
        for wid, delta in ((source, -amount), (target, amount)):
            if wid in self.balances:
                self.balances[wid] += delta
        wallets = [w for w in (source, target) if w in self.balances]
        arguments = {"source": source, "target": target, "amount_minor": amount, "currency": currency}
        self.rec.record(tool, at, arguments, wallets, [txn])
