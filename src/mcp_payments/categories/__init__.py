"""Categories of tools: each declares its toolset, its id prefixes, its wiring, its tools, its jobs and its
repositories, in its own module here. catalog.py is the one list of them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcp_payments.config import Settings
from mcp_payments.server.registry import Toolbox
from mcp_payments.services.container import Services
from mcp_payments.services.jobs import AnyJob
from mcp_payments.services.ports import Repo

if TYPE_CHECKING:
    from mcp_payments.adapters.db.uow import RepositoryFactory


def _no_jobs(_: Services) -> Sequence[AnyJob]:
    return ()


def _no_repositories() -> Mapping[Repo[Any], RepositoryFactory]:
    return {}


@dataclass(frozen=True)
class Category:
    toolset: str  # what --toolsets names it by
    id_prefixes: tuple[str, ...]  # of the ids its entities get (pay_, wal_ ...): unique across categories
    wire: Callable[[Services, Settings], None]  # adds its services (and adapters) to Services
    tools: Callable[[Toolbox, Services], None]  # registers its tools
    jobs: Callable[[Services], Sequence[AnyJob]] = _no_jobs  # its background work, once wired
    # Its repositories, asked for when the database layer opens: their modules import SQLAlchemy, which a start
    # does not need to list tools (adapters/db/deferred.py).
    repositories: Callable[[], Mapping[Repo[Any], RepositoryFactory]] = _no_repositories
