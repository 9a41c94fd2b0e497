"""The services one server process runs: the platform's own, and each category's, found by type.

Categories add their services at start (catalog.py wires them); a tool or a job asks for the one it
needs with `services.get(WalletService)`. Nothing here lists the categories.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from mcp_payments.services.calls import CallRunner
from mcp_payments.services.jobs import AnyJob, MovedInBackground
from mcp_payments.services.pages import Cursors
from mcp_payments.services.ports import Clock, Ids, UnitOfWorkFactory

S = TypeVar("S")


@dataclass
class Services:
    uow: UnitOfWorkFactory
    clock: Clock
    ids: Ids
    calls: CallRunner
    cursors: Cursors
    secret_key: bytes  # the deployment's secret: fingerprints, key hashes, cursor and checkpoint keys derive from it
    webhook_secrets: tuple[str, ...]
    jobs: list[AnyJob] = field(default_factory=list)  # what due work runs, in order
    _by_type: dict[type[Any], object] = field(default_factory=dict)

    @property
    def watchers(self) -> list[MovedInBackground]:
        """What sees the money background work moves, item by item (the AML rules): CallRunner shows it to them,
        on every background path (due work, provider events)."""
        return self.calls.watchers

    def add(self, service: object, *also_as: type[Any]) -> None:
        """Make `service` available by its own type and, e.g. for an adapter, by the port it implements."""
        for kind in (type(service), *also_as):
            if kind in self._by_type:
                raise ValueError(f"a {kind.__name__} was added already")
            self._by_type[kind] = service

    def get(self, kind: type[S]) -> S:
        found = self._by_type.get(kind)
        if found is None:
            raise LookupError(f"no {kind.__name__} is wired: its category is missing from catalog.py")
        return cast(S, found)  # added under this type by add()
