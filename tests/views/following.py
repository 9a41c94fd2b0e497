"""Following resources from a real MCP client in either protocol era: resources/subscribe and its notifications
(2025-11-25), or a subscriptions/listen stream (2026-07-28). Either way the test reads the URIs it is told about."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream
from mcp.client import Client
from mcp.client.subscriptions import ResourceUpdated
from mcp.types import ResourceUpdatedNotification

LEGACY = "legacy"
MODERN = "2026-07-28"


@asynccontextmanager
async def following(
    connect: Callable[..., AbstractAsyncContextManager[Client]], uris: list[str], era: str
) -> AsyncIterator[tuple[Client, MemoryObjectReceiveStream[str]]]:
    """A client (made by `connect(mode=..., message_handler=...)`) following `uris`, and the URIs it is told
    changed, in the order it is told."""
    send, receive = anyio.create_memory_object_stream[str](1000)

    async def handler(message: Any) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            await send.send(message.params.uri)

    async with send, receive, AsyncExitStack() as stack:
        client = await stack.enter_async_context(connect(mode=era, message_handler=handler))
        if era == LEGACY:
            with warnings.catch_warnings():  # resources/subscribe is deprecated from 2026-07-28: it is this era's way
                warnings.simplefilter("ignore")
                for uri in uris:
                    await client.subscribe_resource(uri)
        else:
            subscription = await stack.enter_async_context(client.listen(resource_subscriptions=uris))
            group = await stack.enter_async_context(anyio.create_task_group())

            async def pump() -> None:
                async for event in subscription:
                    if isinstance(event, ResourceUpdated):
                        await send.send(event.uri)

            group.start_soon(pump)
            stack.callback(group.cancel_scope.cancel)
        yield client, receive


async def next_uri(updates: MemoryObjectReceiveStream[str], seconds: float = 1.0) -> str:
    """The next URI the client is told changed, within `seconds` (the issue's bound for a change to arrive)."""
    with anyio.fail_after(seconds):
        return await updates.receive()
