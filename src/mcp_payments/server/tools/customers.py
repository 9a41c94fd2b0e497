"""Customer tools: who pays. E-mail and name are personal data: stored, searchable, never logged."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from mcp_payments.domain.limits import Counts
from mcp_payments.domain.payments import Customer
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools.models import Mutation
from mcp_payments.server.tools.params import FREE_TEXT, ID_CHARS, Cursor, Description, Limit
from mcp_payments.services.commands import Command, Counting, Kind
from mcp_payments.services.container import Services
from mcp_payments.services.counterparties import Counterparties
from mcp_payments.services.customers import CustomerService, check
from mcp_payments.services.pages import Page
from mcp_payments.services.ports import UnitOfWork

CustomerId = Annotated[
    str,
    Field(
        pattern=f"^cus_{ID_CHARS}$",
        max_length=44,
        description="A customer id as returned by create_customer, e.g. cus_01JB...",
    ),
]
Email = Annotated[
    str | None, Field(default=None, min_length=3, max_length=320, description="E-mail address."), FREE_TEXT
]
PersonName = Annotated[
    str | None, Field(default=None, min_length=1, max_length=200, description="Full name."), FREE_TEXT
]


class CustomerOut(BaseModel):
    id: str
    email: str | None
    name: str | None
    description: str | None
    created_at: datetime
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2, when given.")
    erased_at: datetime | None = Field(
        default=None,
        description="When erase_customer_data replaced its personal data (name: a pseudonym; no e-mail or "
        "description); null: not erased.",
    )

    @classmethod
    def of(cls, c: Customer) -> "CustomerOut":
        return cls(
            id=c.id,
            email=c.email,
            name=c.name,
            description=c.description,
            created_at=c.created_at,
            erased_at=c.erased_at,
            country=c.country,
        )


class CustomerResult(Mutation):
    customer: CustomerOut

    def entity_ids(self) -> tuple[str, ...]:
        return (self.customer.id,)

    @classmethod
    def of(cls, c: Customer) -> "CustomerResult":
        return cls(customer=CustomerOut.of(c))


class CustomerList(BaseModel):
    customers: list[CustomerOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: Page[Customer]) -> "CustomerList":
        return cls(customers=[CustomerOut.of(c) for c in page.items], next_cursor=page.next_cursor)


def register(box: Toolbox, app: Services) -> None:
    customers, counterparties = app.get(CustomerService), app.get(Counterparties)

    async def screen(uow: UnitOfWork, command: Command, approved: bool) -> None:
        """create_customer's review, before anything is written: valid arguments, then the name screened."""
        args = command.arguments
        country = check(args.get("email"), args.get("name"), args.get("country"))
        if (name := args.get("name")) is not None:
            await counterparties.screen_customer(uow, command, name, country, approved=approved)

    @box.command(
        kind=Kind.WRITE,
        toolset="payments",
        title="Create customer",
        counts=Counting(Counts.NONE, review=screen),
    )
    async def create_customer(
        uow: UnitOfWork,
        email: Email = None,
        name: PersonName = None,
        description: Description = None,
        country: Annotated[
            str | None,
            Field(
                default=None,
                pattern="^[A-Za-z]{2}$",
                description="ISO 3166-1 alpha-2 code of where the customer lives, e.g. US. A card issued elsewhere "
                "raises a payment's fraud score.",
            ),
        ] = None,
    ) -> CustomerResult:
        """Record a customer (an e-mail, a name or both) to attach payments to. Returns the customer id. The name
        is screened against the sanctions list before anything is written: a close match holds the call for an
        operator's approval (status pending_approval, an approval_id, and a compliance flag), and it runs once
        approved; a match the country corroborates refuses it (sanctions_blocked)."""
        return CustomerResult.of(await customers.create(uow, email, name, description, country))

    @box.query(toolset="payments", title="Get customer", snapshot=False)
    async def get_customer(uow: UnitOfWork, customer_id: CustomerId) -> CustomerOut:
        """Read one customer."""
        return CustomerOut.of(await customers.get(uow, customer_id))

    @box.query(toolset="payments", title="List customers", snapshot=False)
    async def list_customers(
        uow: UnitOfWork,
        # Free text too: a card number in a stored name was masked, and the search masks it the same way.
        email: Annotated[
            str | None,
            Field(default=None, min_length=1, max_length=320, description="Exact e-mail address, any case."),
            FREE_TEXT,
        ] = None,
        name: Annotated[
            str | None,
            Field(default=None, min_length=1, max_length=200, description="Part of the name, any case."),
            FREE_TEXT,
        ] = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> CustomerList:
        """Find customers by e-mail or by part of their name, oldest first, a page at a time."""
        return CustomerList.of(await customers.search(uow, email, name, cursor, limit))
