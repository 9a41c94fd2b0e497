"""The built-in sandbox provider: deterministic, offline, driven by the well-known test cards.

Cards and tokens decide what happens (see TEST_CARDS). Tests can inject latency and outages.
Asynchronous events (a dispute, a refund that fails later) are queued in the database, in the
transaction of the payment or refund that causes them (the outbox pattern): a rolled-back change
queues nothing, a restart loses nothing. Due work (the deliver_provider_events job) signs each, like a
real provider does when it sends, and hands it to the same ingestion path the HTTP endpoint uses.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import anyio

from mcp_payments.domain import cards, signatures
from mcp_payments.domain.cards import PaymentMethod
from mcp_payments.domain.errors import ProviderUnavailable, UnknownPaymentMethod
from mcp_payments.services.ports import (
    PROVIDER_OUTBOX,
    CardInput,
    Clock,
    OutboundEvent,
    ProviderOutcome,
    UnitOfWork,
)


@dataclass(frozen=True, slots=True)
class TestCard:
    number: str
    scenario: str
    description: str
    country: str = "US"  # the issuing country the sandbox reports (Stripe's country test cards)


# scenario: "succeeds", "declined:<decline_code>", "requires_action", "refund_fails", "disputed"
TEST_CARDS: dict[str, TestCard] = {
    "pm_card_visa": TestCard("4242424242424242", "succeeds", "succeeds"),
    "pm_card_mastercard": TestCard("5555555555554444", "succeeds", "succeeds (Mastercard)"),
    "pm_card_chargeDeclined": TestCard("4000000000000002", "declined:card_declined", "generic decline"),
    "pm_card_chargeDeclinedInsufficientFunds": TestCard(
        "4000000000009995", "declined:insufficient_funds", "insufficient funds"
    ),
    # Stripe's 4000000000000341: it attaches (a subscription with a trial, update_subscription) and every later
    # charge is declined: the card that starts failing, for driving dunning end to end.
    "pm_card_chargeCustomerFail": TestCard(
        "4000000000000341", "declined:card_declined", "attaches fine; every charge is declined (card_declined)"
    ),
    "pm_card_chargeDeclinedLostCard": TestCard("4000000000009987", "declined:lost_card", "lost card"),
    "pm_card_chargeDeclinedStolenCard": TestCard("4000000000009979", "declined:stolen_card", "stolen card"),
    "pm_card_chargeDeclinedExpiredCard": TestCard("4000000000000069", "declined:expired_card", "expired card"),
    "pm_card_chargeDeclinedIncorrectCvc": TestCard("4000000000000127", "declined:incorrect_cvc", "incorrect CVC"),
    "pm_card_chargeDeclinedProcessingError": TestCard(
        "4000000000000119", "declined:processing_error", "processing error"
    ),
    "pm_card_threeDSecureRequired": TestCard(
        "4000002760003184", "requires_action", "always requires 3-D Secure (requires_action)"
    ),
    "pm_card_refundFail": TestCard("4000000000005126", "refund_fails", "succeeds; its refunds fail later"),
    "pm_card_createDispute": TestCard("4000000000000259", "disputed", "succeeds; disputed later"),
    # Cards issued outside the US (fraud scoring compares a card's country with its customer's).
    "pm_card_br": TestCard("4000000760000002", "succeeds", "succeeds; issued in Brazil", "BR"),
    "pm_card_ca": TestCard("4000001240000000", "succeeds", "succeeds; issued in Canada", "CA"),
    "pm_card_gb": TestCard("4000008260000000", "succeeds", "succeeds; issued in the United Kingdom", "GB"),
    "pm_card_mx": TestCard("4000004840008001", "succeeds", "succeeds; issued in Mexico", "MX"),
}
_BY_NUMBER = {card.number: card for card in TEST_CARDS.values()}

DECLINE_MESSAGES = {
    "card_declined": ("the card was declined", False),
    "insufficient_funds": ("the card has insufficient funds", False),
    "lost_card": ("the card is reported lost", False),
    "stolen_card": ("the card is reported stolen", False),
    "expired_card": ("the card has expired", False),
    "incorrect_cvc": ("the CVC is incorrect", False),
    "processing_error": ("the card could not be processed", True),
}


class SandboxProvider:
    name = "sandbox"

    def __init__(self, clock: Clock, fingerprint_key: bytes, event_secret: str, latency: float = 0.0) -> None:
        self.clock = clock
        self.fingerprint_key = fingerprint_key
        self.event_secret = event_secret
        self.latency = latency
        self.outages = 0

    def fail_next(self, calls: int = 1) -> None:
        """Make the next `calls` provider calls fail as if the provider were down (tests)."""
        self.outages = calls

    def tokenize(self, card: CardInput) -> PaymentMethod:
        now = self.clock.now()
        digits = cards.check_card(card.number, card.exp_month, card.exp_year, year_now=now.year, month_now=now.month)
        known = _BY_NUMBER.get(digits)
        if known is None:
            return self._method(digits, card.exp_month, card.exp_year, "succeeds", "US")
        return self._method(digits, card.exp_month, card.exp_year, known.scenario, known.country)

    def payment_method(self, token: str) -> PaymentMethod:
        card = TEST_CARDS.get(token)
        if card is None:
            # The token is not echoed: an agent may have put a card number in it ("pm_4242...").
            raise UnknownPaymentMethod(
                "unknown payment_method token: use a sandbox token such as pm_card_visa (see known_tokens), "
                "or card details",
                known_tokens=sorted(TEST_CARDS),
            )
        return self._method(card.number, 12, self.clock.now().year + 3, card.scenario, card.country)

    def _method(self, digits: str, exp_month: int, exp_year: int, scenario: str, country: str) -> PaymentMethod:
        fingerprint = cards.fingerprint(digits, self.fingerprint_key)
        brand = cards.brand_of(digits)
        return PaymentMethod(brand, digits[-4:], exp_month, exp_year, fingerprint, scenario, country)

    async def authorize(
        self, uow: UnitOfWork, payment_id: str, amount: int, currency: str, method: PaymentMethod, capture: bool
    ) -> ProviderOutcome:
        await self._call()
        if method.scenario.startswith("declined:"):
            code = method.scenario.split(":", 1)[1]
            return ProviderOutcome("declined", code, DECLINE_MESSAGES[code][0])
        if method.scenario == "requires_action":
            return ProviderOutcome("requires_action")
        return await self._approved(uow, payment_id, amount, method, capture)

    async def confirm_action(
        self, uow: UnitOfWork, payment_id: str, method: PaymentMethod, capture: bool
    ) -> ProviderOutcome:
        await self._call()
        return ProviderOutcome("approved")  # the customer passed 3-D Secure

    async def capture(self, uow: UnitOfWork, payment_id: str, amount: int, method: PaymentMethod) -> ProviderOutcome:
        await self._call()
        return await self._approved(uow, payment_id, amount, method, capture=True)

    async def cancel(self, uow: UnitOfWork, payment_id: str) -> ProviderOutcome:
        await self._call()
        return ProviderOutcome("approved")

    async def refund(
        self, uow: UnitOfWork, refund_id: str, payment_id: str, amount: int, method: PaymentMethod
    ) -> ProviderOutcome:
        await self._call()
        if method.scenario == "refund_fails":
            await self._emit(
                uow,
                "refund.failed",
                {
                    "refund_id": refund_id,
                    "payment_id": payment_id,
                    "failure_reason": "the card issuer refused the refund",
                },
            )
            return ProviderOutcome("pending")
        return ProviderOutcome("approved")

    def signed(self, event: OutboundEvent) -> tuple[bytes, str]:
        """A queued event as it is sent: its body and signature header, signed now like a real provider's."""
        return event.body, signatures.header([self.event_secret], int(self.clock.now().timestamp()), event.body)

    async def _approved(
        self, uow: UnitOfWork, payment_id: str, amount: int, method: PaymentMethod, capture: bool
    ) -> ProviderOutcome:
        if method.scenario == "disputed" and capture:
            await self._emit(
                uow, "charge.dispute.created", {"payment_id": payment_id, "amount": amount, "reason": "fraudulent"}
            )
        return ProviderOutcome("approved")

    async def _emit(self, uow: UnitOfWork, event_type: str, data: dict[str, Any]) -> None:
        """Queue an event in the caller's unit of work: it exists exactly when the change that caused it does."""
        now = self.clock.now()
        event_id = f"evt_{secrets.token_hex(12)}"
        body = json.dumps(
            {"id": event_id, "type": event_type, "created": int(now.timestamp()), "data": data},
            separators=(",", ":"),
        ).encode()
        await uow.repo(PROVIDER_OUTBOX).add(OutboundEvent(event_id, event_type, body, now))

    async def _call(self) -> None:
        if self.latency:
            await anyio.sleep(self.latency)
        if self.outages > 0:
            self.outages -= 1
            raise ProviderUnavailable(
                "the payment provider did not answer; nothing was charged: retry with the same idempotency key"
            )


def describe_test_cards() -> list[tuple[str, str, str]]:
    return [(card.number, token, card.description) for token, card in TEST_CARDS.items()]
