"""Customers: who pays. E-mail and name are personal data: stored for search, never logged."""

from __future__ import annotations

import re

from mcp_payments.domain import countries
from mcp_payments.domain.errors import CustomerNotFound, InvalidInput
from mcp_payments.domain.payments import Customer
from mcp_payments.services.pages import Cursors, Page
from mcp_payments.services.ports import CUSTOMERS, Clock, Ids, UnitOfWork

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")


def check(email: str | None, name: str | None, country: str | None) -> str | None:
    """Refuse a customer that cannot be created (InvalidInput), before anything about it is screened or written;
    returns the country's code."""
    if email is None and name is None:
        raise InvalidInput("give the customer an email, a name or both, so that you can find them again")
    if email is not None and not _EMAIL.match(email):
        raise InvalidInput("email is not an address like name@example.com")
    return None if country is None else countries.check_code(country)


class CustomerService:
    def __init__(self, clock: Clock, ids: Ids, cursors: Cursors) -> None:
        self.clock = clock
        self.cursors = cursors
        self.ids = ids

    async def create(
        self,
        uow: UnitOfWork,
        email: str | None,
        name: str | None,
        description: str | None,
        country: str | None = None,
    ) -> Customer:
        code = check(email, name, country)
        customer = Customer(self.ids.new("cus"), email, name, description, self.clock.now(), code)
        await uow.repo(CUSTOMERS).add(customer)
        return customer

    async def get(self, uow: UnitOfWork, customer_id: str) -> Customer:
        customer = await uow.repo(CUSTOMERS).get(customer_id)
        if customer is None:
            raise CustomerNotFound(
                f"customer {customer_id} does not exist: search with list_customers", customer_id=customer_id
            )
        return customer

    async def search(
        self, uow: UnitOfWork, email: str | None, name: str | None, cursor: str | None, limit: int
    ) -> Page[Customer]:
        rows = await uow.repo(CUSTOMERS).search(email, name, self.cursors.decode_str("customers", cursor), limit + 1)
        return self.cursors.paginate("customers", rows, limit, lambda c: c.id)
