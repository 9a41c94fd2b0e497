"""erase_customer_data: GDPR erasure of one customer's personal data (admin). The books and the audit chain stay."""

from datetime import datetime

from pydantic import BaseModel, Field

from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools.customers import CustomerId
from mcp_payments.server.tools.models import Mutation
from mcp_payments.services.commands import Kind
from mcp_payments.services.container import Services
from mcp_payments.services.erasure import WHY_KEPT, Erasure, ErasureReport
from mcp_payments.services.ports import UnitOfWork


class KeptRecords(BaseModel):
    kind: str = Field(description="payments, refunds, subscriptions, invoices, journal_transactions or audit_log.")
    count: int | None = Field(description="How many of the customer's; null for the audit log (not counted).")
    why: str


class ErasureResult(Mutation):
    customer_id: str
    pseudonym: str = Field(description="The customer's name from now on; e-mail and description are gone.")
    erased_at: datetime
    already_erased: bool = Field(description="True: the customer was erased before (at erased_at); nothing changed.")
    rewritten: dict[str, int] = Field(
        description="Rows rewritten by this call, per table.column, where the personal data was repeated (memos, "
        "stored answers, webhook events, screenings of the name...)."
    )
    kept: list[KeptRecords] = Field(description="What stays, and why.")

    def entity_ids(self) -> tuple[str, ...]:
        return (self.customer_id,)

    @classmethod
    def of(cls, report: ErasureReport) -> "ErasureResult":
        counts = _counts(report)
        return cls(
            customer_id=report.customer_id,
            pseudonym=report.pseudonym,
            erased_at=report.erased_at,
            already_erased=report.already_erased,
            rewritten=report.rewritten,
            kept=[KeptRecords(kind=kind, count=counts.get(kind), why=why) for kind, why in WHY_KEPT.items()],
        )


def _counts(report: ErasureReport) -> dict[str, int]:
    kept = report.kept
    if kept is None:
        return {}
    return {
        "payments": kept.payments,
        "refunds": kept.refunds,
        "subscriptions": kept.subscriptions,
        "invoices": kept.invoices,
        "journal_transactions": kept.journal_transactions,
    }


def register(box: Toolbox, app: Services) -> None:
    erasure = app.get(Erasure)

    @box.command(kind=Kind.ADMIN, toolset="compliance", title="Erase customer data", destructive=True)
    async def erase_customer_data(uow: UnitOfWork, customer_id: CustomerId) -> ErasureResult:
        """Erase a customer's personal data on their request (GDPR art. 17): the name becomes a pseudonym, the
        e-mail and description go, and every memo, stored answer, webhook event and screening that repeats them is
        rewritten. Payments, invoices and the ledger are kept (the law requires them) under the customer id, and the
        audit chain still verifies. Safe to call again: it then says the customer was erased already."""
        return ErasureResult.of(await erasure.erase(uow, customer_id))
