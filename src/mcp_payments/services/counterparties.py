"""Screening hooks: a customer's name when it is created, and a payee the first time money leaves to it.

Payees: a Check of the Dispatcher (services/commands.py), run in a counted money call's transaction before its
guard. A payee wallet money has gone to after a screening (known_payees) is not screened again; a new one is
screened by its name:

- clear: the call goes on, and the payee is known from now on (if the call commits);
- review: a compliance flag is raised and the call is held for approval (Held, held_for sanctions_review); once
  another operator approves it, it runs (screened again: a list loaded meanwhile may block it) and the payee is
  known;
- block: the call is refused with sanctions_blocked; its screening and a flag are recorded after it rolls back.

A payee is a wallet (its name is screened), or a payout's `payee_name` (withdraw_from_wallet): a payout that
names nobody leaves to the world outside the ledger and is not screened.

Customers: create_customer's review (services/commands.py Review), run before its handler writes anything, screens
the name with the country given (which can corroborate a match into a block), with the same three outcomes; a
review's flag names the approval the call waits in (screen_customer).
"""

from __future__ import annotations

import hashlib
import hmac

from mcp_payments.domain import sanctions
from mcp_payments.domain.compliance_flags import Rule, Trigger
from mcp_payments.domain.errors import InvalidInput, SanctionsBlocked, SanctionsReviewRequired
from mcp_payments.domain.ledger import AccountType
from mcp_payments.domain.limits import Spend
from mcp_payments.domain.name_matching import normalise
from mcp_payments.domain.sanctions import Decision, PartyType
from mcp_payments.services.commands import Command, Held
from mcp_payments.services.compliance_ports import FLAGS
from mcp_payments.services.flags import ComplianceFlags
from mcp_payments.services.ports import Clock, UnitOfWork
from mcp_payments.services.sanctions import Screening, ScreeningResult

SANCTIONS_REVIEW = "sanctions_review"  # an approval's held_for
PAYEE_NAME = "payee_name"  # the argument that names a payout's receiver (withdraw_from_wallet)


class Counterparties:
    def __init__(self, clock: Clock, screening: Screening, flags: ComplianceFlags, secret: bytes) -> None:
        self.clock = clock
        self.screening = screening
        self.flags = flags
        self._name_secret = hmac.new(secret, b"mcp-payments payee name", hashlib.sha256).digest()

    def _name_key(self, name: str) -> str:
        digest = hmac.new(self._name_secret, normalise(name).encode(), hashlib.sha256).hexdigest()
        return f"name:{digest[:40]}"

    async def check(self, uow: UnitOfWork, command: Command, spend: Spend, *, approved: bool) -> None:
        """Screen the call's payee if money never went to it (see the module's docstring)."""
        named = command.arguments.get(PAYEE_NAME)
        if isinstance(named, str):
            # A payout's receiver is known by a keyed hash of its normalised name: no name is kept for it.
            payee, name = self._name_key(named), named
        elif spend.payee is not None and spend.payee.startswith("wal_"):
            payee, name = spend.payee, ""
        else:
            return
        if await uow.repo(FLAGS).known_payee(payee):
            return
        if not name:
            account = await uow.ledger.get_account(payee)
            if account is None or account.type is not AccountType.WALLET:
                return  # the handler says wallet_not_found
            name = account.name
        result = await self._screen(uow, name)
        if result is None:
            return
        by = command.principal
        if result.decision is Decision.BLOCK:
            raise self._blocked(result, by, payee, f"{command.tool} to {_shown(payee)}")
        await self.screening.record(uow, result, by)
        if result.decision is Decision.REVIEW and not approved:
            await self.flags.raise_flag(uow, _review(result, payee), by)
            because = (
                f"{command.tool} to {_shown(payee)} waits for a compliance review: a sanctions screening of the "
                f"payee's name ({result.id}) came back review (list_compliance_flags, rule sanctions_review)"
            )
            refusal = SanctionsReviewRequired(
                f"{because}, and this server cannot hold calls for approval: ask an operator to review the payee",
                payee=payee,
                screening_id=result.id,
            )
            raise Held(spend, 0, refusal, held_for=SANCTIONS_REVIEW, because=because)
        await uow.repo(FLAGS).add_known_payee(payee, result.id, self.clock.now())

    async def screen_customer(
        self, uow: UnitOfWork, command: Command, name: str, country: str | None, *, approved: bool
    ) -> None:
        """Screen the name of the customer create_customer is about to create (before anything is written), with
        its country to corroborate a match:

        - clear: it is created;
        - review: held for approval (held_for sanctions_review), with a compliance flag on the approval; once
          another operator approves it, it runs (screened again: a list loaded meanwhile may block it);
        - block: refused with sanctions_blocked, as a payment to a blocked payee is; its screening and a flag are
          recorded after the call rolls back, with its audit record."""
        result = await self._screen(uow, name, country)
        if result is None:
            return
        by = command.principal
        if result.decision is Decision.BLOCK:
            raise self._blocked(result, by, result.id, "create_customer")
        await self.screening.record(uow, result, by)
        if result.decision is not Decision.REVIEW or approved:
            return
        because = (
            f"create_customer waits for a compliance review: a sanctions screening of the customer's name "
            f"({result.id}) came back review (list_compliance_flags, rule sanctions_review)"
        )
        refusal = SanctionsReviewRequired(
            f"{because}, and this server cannot hold calls for approval: nothing was created. Ask an operator to "
            "review the screening",
            screening_id=result.id,
        )

        async def refused(uow: UnitOfWork) -> None:  # after the call rolled back: its screening and flag stay
            await self.screening.record(uow, result, by)
            await self.flags.raise_flag(uow, _review(result, result.id), by)

        refusal.afterwards = refused

        async def flag(approval_id: str) -> None:  # the flag names the approval an operator decides
            await self.flags.raise_flag(uow, _review(result, approval_id), by)

        raise Held(None, 0, refusal, held_for=SANCTIONS_REVIEW, because=because, then=flag)

    async def _screen(self, uow: UnitOfWork, name: str, country: str | None = None) -> ScreeningResult | None:
        if not name:
            return None
        try:
            # A wallet or a customer does not say whether it is a person: screened as one, an entity's entry that
            # matches still scores above the review line (a type mismatch costs 0.10).
            party = sanctions.party(name, PartyType.PERSON, country, None, self.clock.now().date())
        except InvalidInput:
            return None  # a name without letters or digits: nothing to compare
        return await self.screening.assess(uow, party)

    def _blocked(self, result: ScreeningResult, by: str, subject: str, what: str) -> SanctionsBlocked:
        error = SanctionsBlocked(
            f"{what} is refused: a sanctions screening ({result.id}) matched the name to a listed party and decided "
            "block. Nothing was done; do not retry. An operator can see the flag with list_compliance_flags",
            screening_id=result.id,
            subject=subject,
        )
        trigger = Trigger(
            Rule.SANCTIONS_BLOCK, subject, f"{Rule.SANCTIONS_BLOCK}:{result.id}", _summary(result), (), _details(result)
        )

        async def record(uow: UnitOfWork) -> None:
            await self.screening.record(uow, result, by)
            await self.flags.raise_flag(uow, trigger, by)

        error.afterwards = record
        return error


def _shown(payee: str) -> str:
    return "the named payee" if payee.startswith("name:") else payee


def _review(result: ScreeningResult, subject: str) -> Trigger:
    # One flag per subject and list version: screening it again against the same list raises nothing new.
    key = f"{Rule.SANCTIONS_REVIEW}:{subject}:{result.version.sha256[:16]}"
    return Trigger(Rule.SANCTIONS_REVIEW, subject, key, _summary(result), (), _details(result))


def _summary(result: ScreeningResult) -> str:
    best = result.hits[0] if result.hits else None
    closest = f": closest entry {best.entry.ent_num} ({best.entry.program}), score {best.score:.2f}" if best else ""
    return f"sanctions screening {result.id} decided {result.decision}{closest}"


def _details(result: ScreeningResult) -> dict[str, object]:
    # Ids, scores and programs only: the screened name is personal data and stays in the screening's own record.
    return {
        "screening_id": result.id,
        "decision": result.decision.value,
        "list_sha256": result.version.sha256,
        "matches": [
            {"entry_id": h.entry.ent_num, "program": h.entry.program, "score": round(h.score, 4)}
            for h in result.hits[:3]
        ],
    }
