"""Categories of tools: each declares its toolset, its id prefixes, its wiring, its tools, its jobs and its
repositories, in its own module here. catalog.py is the one list of them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mcp_payments.adapters.db.uow import RepositoryFactory
from mcp_payments.config import Settings
from mcp_payments.server.registry import Toolbox
from mcp_payments.services.container import Services
from mcp_payments.services.jobs import AnyJob
from mcp_payments.services.ports import Repo


def _no_jobs(_: Services) -> Sequence[AnyJob]:
    return ()


@dataclass(frozen=True)
class Category:
    toolset: str  # what --toolsets names it by
    id_prefixes: tuple[str, ...]  # of the ids its entities get (pay_, wal_ ...): unique across categories
    wire: Callable[[Services, Settings], None]  # adds its services (and adapters) to Services
    tools: Callable[[Toolbox, Services], None]  # registers its tools
    jobs: Callable[[Services], Sequence[AnyJob]] = _no_jobs  # its background work, once wired
    repositories: Mapping[Repo[Any], RepositoryFactory] = field(default_factory=dict)
