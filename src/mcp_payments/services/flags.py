"""Compliance flags: raised by the AML rules and the screenings in the transaction of what triggered them, listed,
and resolved by an operator other than the principal whose call raised them (domain/compliance_flags.py).

A raised flag is written to the webhook outbox as compliance.flag.created in the same transaction."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from mcp_payments.domain import compliance_flags
from mcp_payments.domain.compliance_flags import Disposition, Flag, FlagStatus, Rule, Trigger
from mcp_payments.domain.errors import ComplianceFlagNotFound, FlagAlreadyResolved
from mcp_payments.services.compliance_ports import FLAGS
from mcp_payments.services.notifications.endpoints import publish
from mcp_payments.services.pages import Cursors, Page
from mcp_payments.services.ports import Clock, Ids, UnitOfWork

FLAG_CREATED = "compliance.flag.created"
MAX_TRANSACTIONS = 50  # kept on a flag: the newest ones of its triggering set


class ComplianceFlags:
    def __init__(self, clock: Clock, ids: Ids, cursors: Cursors) -> None:
        self.clock = clock
        self.ids = ids
        self.cursors = cursors

    async def raise_flag(self, uow: UnitOfWork, trigger: Trigger, principal: str) -> Flag | None:
        """Raise the flag of `trigger` unless its key was raised before; the new flag, or None."""
        now = self.clock.now()
        kept = trigger.transaction_ids[-MAX_TRANSACTIONS:]
        flag = Flag.of(self.ids.new("flg"), replace(trigger, transaction_ids=kept), principal, now)
        if not await uow.repo(FLAGS).add(flag):
            return None
        await publish(uow, self.ids, now, FLAG_CREATED, flag_data(flag))
        return flag

    async def page(
        self,
        uow: UnitOfWork,
        status: FlagStatus | None,
        rule: Rule | None,
        since: datetime | None,
        cursor: str | None,
        limit: int,
    ) -> Page[Flag]:
        # A cursor pages the listing it came from: the filters are part of its scope.
        scope = f"flags {status or '*'} {rule or '*'} {since.isoformat() if since else '*'}"
        rows = await uow.repo(FLAGS).page(status, rule, since, self.cursors.decode_str(scope, cursor), limit + 1)
        return self.cursors.paginate(scope, rows, limit, lambda f: f.id)

    async def get(self, uow: UnitOfWork, flag_id: str, *, lock: bool = False) -> Flag:
        flag = await uow.repo(FLAGS).get(flag_id, lock=lock)
        if flag is None:
            raise ComplianceFlagNotFound(
                f"no compliance flag {flag_id}: list_compliance_flags shows them", flag_id=flag_id
            )
        return flag

    async def resolve(self, uow: UnitOfWork, flag_id: str, by: str, disposition: Disposition, note: str) -> Flag:
        flag = await self.get(uow, flag_id, lock=True)
        resolved = compliance_flags.resolve(flag, by, disposition, note, self.clock.now())
        if not await uow.repo(FLAGS).resolve(resolved):
            raise FlagAlreadyResolved(
                f"{flag_id} was resolved by someone else a moment ago: nothing was changed", flag_id=flag_id
            )
        return resolved


def flag_data(flag: Flag) -> dict[str, Any]:
    """A flag as its webhook carries it."""
    return {
        "id": flag.id,
        "object": "compliance_flag",
        "rule": flag.rule.value,
        "status": flag.status.value,
        "subject": flag.subject,
        "summary": flag.summary,
        "principal": flag.principal,
        "transaction_ids": list(flag.transaction_ids),
        "details": flag.details,
        "created_at": flag.created_at.isoformat(),
    }
