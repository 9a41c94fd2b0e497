"""The catalog is the one list of categories: a category brings its toolset, ids, services, tools, jobs and
repositories, and adding one touches nothing else."""

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from mcp.client import Client
from pydantic import BaseModel

from mcp_payments import catalog
from mcp_payments.adapters.db.driver import Driver
from mcp_payments.bootstrap import build_services, prepare_database, sweep_once
from mcp_payments.categories import Category
from mcp_payments.config import Settings
from mcp_payments.server.app import build_server
from mcp_payments.server.registry import Toolbox
from mcp_payments.services.container import Services
from mcp_payments.services.jobs import AnyJob, Job
from mcp_payments.services.ports import Claim, Repo, UnitOfWork
from tests.conftest import TEST_SECRETS
from tests.helpers import ok

pytestmark = pytest.mark.anyio


def test_toolsets_and_id_prefixes_are_unique_across_categories() -> None:
    toolsets = [c.toolset for c in catalog.CATEGORIES]
    prefixes = [p for c in catalog.CATEGORIES for p in c.id_prefixes]

    assert len(toolsets) == len(set(toolsets))
    assert len(prefixes) == len(set(prefixes))
    assert catalog.toolsets() == (
        "payments",
        "wallets",
        "monitoring",
        "compliance",
        "controls",
        "subscriptions",
        "analytics",
        "notifications",
    )


def test_an_unknown_toolset_is_refused_naming_the_ones_that_exist() -> None:
    with pytest.raises(ValueError, match="unknown toolset") as refused:
        catalog.check_toolsets(frozenset({"wallets", "astrology"}))

    assert "astrology" in str(refused.value)
    every = "payments, wallets, monitoring, compliance, controls, subscriptions, analytics, notifications"
    assert every in str(refused.value)


# A category of its own, as a new module would declare it: a service, a tool, a job and a repository.
GREETINGS: Repo["Greetings"] = Repo("greetings")


class Greetings:
    def __init__(self, _conn: object, driver: Driver) -> None:
        self.dialect = driver.dialect


@dataclass
class Greeter:
    greeted: list[str] = field(default_factory=list)


class Greeting(BaseModel):
    text: str
    database: str


def wire(services: Services, _settings: Settings) -> None:
    services.add(Greeter())


def tools(box: Toolbox, services: Services) -> None:
    @box.query(toolset="greetings", title="Greet")
    async def greet(uow: UnitOfWork, name: str) -> Greeting:
        """Say hello."""
        return Greeting(text=f"hello {name}", database=uow.repo(GREETINGS).dialect)


def jobs(services: Services) -> Sequence[AnyJob]:
    greeter = services.get(Greeter)

    async def guests(_uow: UnitOfWork, claim: Claim) -> list[str]:
        return [guest for guest in ("ada", "grace") if guest not in claim.skip][: claim.limit]

    async def wave(_uow: UnitOfWork, guest: str) -> list[str]:
        greeter.greeted.append(guest)
        return []

    async def nobody_waits(_uow: UnitOfWork, _claim: Claim) -> None:
        return None

    return (Job("wave", guests, wave, str, nobody_waits, audited=False),)


EXTRA = Category(
    toolset="greetings",
    id_prefixes=("grt",),
    wire=wire,
    tools=tools,
    jobs=jobs,
    repositories=lambda: {GREETINGS: Greetings},
)


async def test_a_new_category_added_to_the_list_brings_its_tools_jobs_services_and_repositories(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog, "CATEGORIES", (*catalog.CATEGORIES, EXTRA))
    settings = Settings(db_url=db_url, background=False, **TEST_SECRETS)
    db = await prepare_database(settings)  # migrated: the runner records each run
    try:
        services = build_services(db, settings)
        server, _ = build_server(services, settings, catalog.register_tools)
        async with Client(server) as client:
            greeting = await ok(client, "greet", name="Ada")
        await sweep_once(services)
    finally:
        await db.dispose()

    assert greeting == {"text": "hello Ada", "database": db.backend}
    assert services.get(Greeter).greeted == ["ada", "grace"], "each item once"
    assert "greetings" in catalog.toolsets()


async def test_a_job_that_fails_does_not_stop_the_others(db_url: str) -> None:
    settings = Settings(db_url=db_url, background=False, **TEST_SECRETS)
    db = await prepare_database(settings)  # migrated: the runner records each run
    ran: list[str] = []

    async def broken_claim(_uow: UnitOfWork, _claim: Claim) -> list[str]:
        ran.append("broken")
        raise RuntimeError("a bug in one job")

    async def one(_uow: UnitOfWork, claim: Claim) -> list[str]:
        return [] if "item" in claim.skip else ["item"]

    async def fine(_uow: UnitOfWork, item: str) -> list[str]:
        ran.append("fine")
        return []

    async def nothing_due(_uow: UnitOfWork, _claim: Claim) -> None:
        return None

    try:
        services = build_services(db, settings)
        services.jobs[:] = [
            Job("broken", broken_claim, fine, str, nothing_due, audited=False),
            Job("fine", one, fine, str, nothing_due, audited=False),
        ]
        handled = await sweep_once(services)
    finally:
        await db.dispose()

    assert ran == ["broken", "fine"]
    assert handled == 1
