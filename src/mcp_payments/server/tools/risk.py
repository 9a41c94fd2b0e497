"""Fraud scoring tools: score a payment before making it, and list the payments the score refused or held."""

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from mcp_payments.domain.errors import CustomerNotFound
from mcp_payments.domain.money import parse_amount
from mcp_payments.domain.risk import Decision
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools.customers import CustomerId
from mcp_payments.server.tools.params import Amount, AmountMinor, CurrencyCode, Cursor, Limit
from mcp_payments.server.tools.payments import method_of
from mcp_payments.server.tools.risk_models import FraudAlertOut, RiskOut
from mcp_payments.services.container import Services
from mcp_payments.services.pages import Page
from mcp_payments.services.payments.lifecycle import PaymentService
from mcp_payments.services.ports import CUSTOMERS, UnitOfWork
from mcp_payments.services.risk import FraudScreen
from mcp_payments.services.risk_ports import StoredAssessment


class RiskAssessment(RiskOut):
    review_threshold: int = Field(description="A score at least this is held for approval.")
    block_threshold: int = Field(description="A score at least this is refused with risk_blocked.")
    card_last4: str
    card_fingerprint: str


class FraudAlertList(BaseModel):
    alerts: list[FraudAlertOut] = Field(description="Newest first.")
    next_cursor: str | None

    @classmethod
    def of(cls, page: Page[StoredAssessment]) -> "FraudAlertList":
        return cls(alerts=[FraudAlertOut.of(a) for a in page.items], next_cursor=page.next_cursor)


def register(box: Toolbox, app: Services) -> None:
    screen, payments = app.get(FraudScreen), app.get(PaymentService)

    @box.query(toolset="compliance", title="Assess payment risk")
    async def assess_payment_risk(
        uow: UnitOfWork,
        currency: CurrencyCode,
        payment_method: Annotated[
            str,
            Field(pattern="^pm_[A-Za-z0-9_]{1,60}$", description="The payment method token the payment would use."),
        ],
        amount: Amount = None,
        amount_minor: AmountMinor = None,
        customer_id: Annotated[CustomerId | None, Field(default=None)] = None,
    ) -> RiskAssessment:
        """Score a payment before making it: the fraud score create_payment would give it now (0-100), the decision
        (allow, review: held for approval, block: refused) and every reason. Nothing is charged or recorded."""
        money = parse_amount(amount, amount_minor, currency)
        method = method_of(payments, {"payment_method": payment_method})
        if customer_id is not None and await uow.repo(CUSTOMERS).get(customer_id) is None:
            raise CustomerNotFound(
                f"customer {customer_id} does not exist: search with list_customers, or omit customer_id",
                customer_id=customer_id,
            )
        a = await screen.assess(uow, money, method, customer_id)
        return RiskAssessment(
            **RiskOut.of(a).model_dump(),
            review_threshold=screen.rules.review,
            block_threshold=screen.rules.block,
            card_last4=method.last4,
            card_fingerprint=method.fingerprint,
        )

    @box.query(toolset="compliance", title="List fraud alerts")
    async def list_fraud_alerts(
        uow: UnitOfWork,
        decision: Annotated[
            Literal["review", "block"] | None,
            Field(default=None, description="Only held (review) or only refused (block) payments; both if omitted."),
        ] = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> FraudAlertList:
        """List the payments the fraud score refused (block) or held for approval (review), newest first, each with
        its score and reasons; pass next_cursor back to continue."""
        chosen = None if decision is None else Decision(decision)
        return FraudAlertList.of(await screen.alerts(uow, chosen, cursor, limit))
