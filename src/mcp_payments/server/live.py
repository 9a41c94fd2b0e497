"""Live updates: resources/subscribe (2025-11-25) and subscriptions/listen (2026-07-28) on one bus per process.

The bus hears which resources changed, from committed writes only (services/live.py): on SQLite this process's
own writes, after they commit; on PostgreSQL every replica's, by LISTEN on a connection of its own
(adapters/db/notices.py), NOTIFYed inside each write transaction. It tells

- 2026-07-28 clients through the SDK's ListenHandler (the bus is the MCPServer's `subscriptions=`): a listen
  stream gets `notifications/resources/updated` for the URIs it asked for;
- 2025-11-25 clients through the connection each subscribed on with resources/subscribe.

When this process may have missed changes (PostgreSQL: its LISTEN connection dropped and is back), every URI it
follows is announced as updated (`resync`): a client re-reads on an update, so over-announcing is correct.

A subscription is a read: its caller is found and checked like a resource read's (server/resources.py), and only
this server's resource URIs may be followed. A notification names the URI only; reading it shows what the
caller may see.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import structlog
from mcp.server.context import ServerRequestContext
from mcp.server.session import ServerSession
from mcp.server.subscriptions import ListenHandler, ResourceUpdated, ServerEvent
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    EmptyResult,
    SubscribeRequestParams,
    SubscriptionsListenRequestParams,
    SubscriptionsListenResult,
    UnsubscribeRequestParams,
)

from mcp_payments.server import errors
from mcp_payments.services.commands import Kind

if TYPE_CHECKING:
    from mcp_payments.server.app import PaymentsServer

log = structlog.get_logger("mcp_payments.live")
FOLLOWABLE = re.compile(
    r"payments://(wallets/wal_[0-9A-Za-z_]{1,40}|payments/pay_[0-9A-Za-z_]{1,40}|approvals/pending|dashboard)"
)
MAX_URIS = 100  # per subscription request
# resources/subscribe entries per process. A client that goes away without unsubscribing is dropped at the next
# notification to it; the cap keeps clients that come and go without ever being notified from growing memory.
MAX_FOLLOWED = 10_000
Listener = Callable[[ServerEvent], None]


class LiveBus:
    """A SubscriptionBus (mcp.server.subscriptions) that also serves resources/subscribe's connections.

    `relay` (PostgreSQL): publish() NOTIFYs through it, so that every replica hears it, this one included;
    `start` (PostgreSQL): called before the first subscription is taken, to LISTEN."""

    def __init__(self) -> None:
        self._listeners: dict[object, Listener] = {}
        self._legacy: dict[str, dict[int, ServerSession]] = {}  # uri -> connection id -> a session on it
        self._streamed: Counter[str] = Counter()  # uri -> listen streams (2026-07-28) following it
        self._tasks: set[asyncio.Task[None]] = set()
        self.relay: Callable[[list[str]], Awaitable[None]] | None = None
        self.start: Callable[[], Awaitable[None]] | None = None
        self.stop: Callable[[], Awaitable[None]] | None = None

    # SubscriptionBus
    async def publish(self, event: ServerEvent) -> None:
        if self.relay is not None and isinstance(event, ResourceUpdated):
            await self.relay([event.uri])
        else:
            self._fan_out(event)
        await asyncio.sleep(0)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        token = object()
        self._listeners[token] = listener

        def unsubscribe() -> None:
            self._listeners.pop(token, None)

        return unsubscribe

    # What the change feed calls: resources that changed in a committed write (any replica's on PostgreSQL).
    def deliver(self, uris: Iterable[str]) -> None:
        for uri in dict.fromkeys(uris):
            self._fan_out(ResourceUpdated(uri=uri))

    @property
    def followed(self) -> bool:
        """Whether anyone in this process follows anything."""
        return bool(self._listeners) or any(self._legacy.values())

    def following(self) -> list[str]:
        """Every URI someone in this process follows, in either era."""
        return sorted({uri for uri, n in self._streamed.items() if n > 0} | {u for u, s in self._legacy.items() if s})

    def resync(self) -> None:
        """Announce every followed URI as updated: what committed while this process could not hear (its LISTEN
        connection was down) is unknown, and an update is only a hint to re-read, so announcing too much is
        harmless where missing one leaves a client with a stale view."""
        uris = self.following()
        log.info("live_resync", uris=len(uris))
        self.deliver(uris)

    @contextmanager
    def streaming(self, uris: Iterable[str]) -> Iterator[None]:
        """A listen stream follows `uris` while this is open (the SDK's listener keeps its filter to itself)."""
        wanted = list(uris)
        self._streamed.update(wanted)
        try:
            yield
        finally:
            self._streamed.subtract(wanted)
            self._streamed = +self._streamed  # drops the URIs nobody follows any more

    async def ready(self) -> None:
        if self.start is not None:
            await self.start()

    def follow(self, uri: str, session: ServerSession) -> None:
        if sum(len(sessions) for sessions in self._legacy.values()) >= MAX_FOLLOWED:
            raise MCPError(
                INTERNAL_ERROR,
                f"this server follows {MAX_FOLLOWED} resources already: unsubscribe some, or retry later",
            )
        self._legacy.setdefault(uri, {})[_connection(session)] = session

    def unfollow(self, uri: str, session: ServerSession) -> None:
        self._legacy.get(uri, {}).pop(_connection(session), None)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self.stop is not None:
            await self.stop()

    def _fan_out(self, event: ServerEvent) -> None:
        for listener in list(self._listeners.values()):
            try:
                listener(event)
            except Exception:  # one listener must not starve the others (as the SDK's InMemorySubscriptionBus)
                log.exception("subscription_listener_failed")
        if isinstance(event, ResourceUpdated):
            for key, session in list(self._legacy.get(event.uri, {}).items()):
                task = asyncio.get_running_loop().create_task(self._send(event.uri, key, session))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _send(self, uri: str, key: int, session: ServerSession) -> None:
        try:
            await session.send_resource_updated(uri)
        except Exception:  # the client went away: its subscriptions go with it
            for sessions in self._legacy.values():
                sessions.pop(key, None)


def _connection(session: ServerSession) -> int:
    # A ServerSession is made per request; the connection under it is what a subscription lives on.
    return id(getattr(session, "_connection", session))


def install(server: PaymentsServer, bus: LiveBus) -> None:
    """Serve resources/subscribe, resources/unsubscribe and a role-checked subscriptions/listen on `bus`."""
    lowlevel = server._lowlevel_server  # the SDK's request table: MCPServer has no public way to add these

    async def checked(uris: Iterable[str]) -> list[str]:
        caller = await server.reader()
        if not caller.may_call(Kind.READ):
            raise errors.refusal(caller.refusal("subscriptions", Kind.READ))
        wanted = list(uris)
        if len(wanted) > MAX_URIS:
            raise MCPError(INVALID_PARAMS, f"at most {MAX_URIS} resources per subscription; open another for more")
        if any(not FOLLOWABLE.fullmatch(uri) for uri in wanted):
            raise MCPError(
                INVALID_PARAMS,
                "only this server's resources can be followed: payments://wallets/{wallet_id}, "
                "payments://payments/{payment_id}, payments://approvals/pending and payments://dashboard "
                "(resources/templates/list shows them); take the ids from list_wallets or list_payments",
                {"code": "invalid_argument"},
            )
        await bus.ready()
        return wanted

    async def subscribe(ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams) -> EmptyResult:
        [uri] = await checked([params.uri])
        bus.follow(uri, ctx.session)
        return EmptyResult()

    async def unsubscribe(ctx: ServerRequestContext[Any, Any], params: UnsubscribeRequestParams) -> EmptyResult:
        bus.unfollow(params.uri, ctx.session)
        return EmptyResult()

    listen = ListenHandler(bus)

    async def listen_checked(
        ctx: ServerRequestContext[Any, Any], params: SubscriptionsListenRequestParams
    ) -> SubscriptionsListenResult:
        wanted = await checked(params.notifications.resource_subscriptions or ())
        with bus.streaming(wanted):  # for as long as the stream is open
            return await listen(ctx, params)

    lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)
    lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)
    lowlevel.add_request_handler("subscriptions/listen", SubscriptionsListenRequestParams, listen_checked)
