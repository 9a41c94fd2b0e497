"""Plan changes mid-period and the lines they leave for an invoice (pure).

A change at `at` inside the period [start, end) credits the unused time on the old price and charges the
remaining time on the new one, each by the second and rounded once, half to even (domain/subscriptions.py
`prorate`). Over any sequence of changes the total charged for the period is the exact time-weighted price
within one minor unit per change.

Lines that wait for the next invoice (create_prorations) are added to it. Credits larger than what that
invoice owes are carried to the invoice after it, so no invoice has a negative total and no credit is lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from enum import StrEnum

from mcp_payments.domain.errors import InvalidInput
from mcp_payments.domain.subscriptions import InvoiceLine, Plan, prorate


class ProrationBehavior(StrEnum):
    CREATE_PRORATIONS = "create_prorations"  # the lines wait for the next invoice
    NONE = "none"  # no lines: the new price applies from the next period
    ALWAYS_INVOICE = "always_invoice"  # the lines are invoiced and charged now


def check_change(old: Plan, new: Plan, subscription_id: str) -> None:
    """A subscription changes only to another plan billed in the same currency on the same calendar."""
    if new.id == old.id:
        raise InvalidInput(
            f"subscription {subscription_id} is already on plan {old.id}: pass another plan_id",
            subscription_id=subscription_id,
            plan_id=new.id,
        )
    if (new.currency, new.interval, new.interval_count) != (old.currency, old.interval, old.interval_count):
        raise InvalidInput(
            f"plan {new.id} bills {new.currency} every {new.interval_count} {new.interval}(s), the subscription's "
            f"plan {old.id} bills {old.currency} every {old.interval_count} {old.interval}(s): a change keeps the "
            "currency and the billing interval; cancel and subscribe anew to change those",
            plan_id=new.id,
            current_plan_id=old.id,
        )


def proration_lines(old: Plan, new: Plan, start: datetime, end: datetime, at: datetime) -> tuple[InvoiceLine, ...]:
    """The credit for the old price's unused time and the charge for the new price's remaining time."""
    when = at.strftime("%Y-%m-%d %H:%M:%S")
    credit = prorate(old.amount, start, end, at)
    debit = prorate(new.amount, start, end, at)
    lines = []
    if credit:
        lines.append(InvoiceLine("proration_credit", f"Unused time on {old.name} after {when} UTC", -credit, at, end))
    if debit:
        lines.append(InvoiceLine("proration_debit", f"Remaining time on {new.name} from {when} UTC", debit, at, end))
    return tuple(lines)


def settle(lines: Sequence[InvoiceLine]) -> tuple[tuple[InvoiceLine, ...], tuple[InvoiceLine, ...]]:
    """The lines an invoice takes and the credit it carries to the next one: all of them when their sum is not
    negative; otherwise the latest credits, split where needed, are carried until the invoice totals zero."""
    kept = list(lines)
    owed = sum(line.amount for line in kept)
    carried: list[InvoiceLine] = []
    for i in range(len(kept) - 1, -1, -1):
        if owed >= 0:
            break
        line = kept[i]
        if line.amount >= 0:
            continue
        moved = max(line.amount, owed)  # the part of this credit (negative) that the invoice cannot take
        carried.insert(0, replace(line, amount=moved))
        kept[i] = replace(line, amount=line.amount - moved)
        owed -= moved
    return tuple(line for line in kept if line.amount != 0 or line.kind == "plan"), tuple(carried)
