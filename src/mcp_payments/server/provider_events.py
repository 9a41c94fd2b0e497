"""The HTTP endpoint for signed provider events (POST /provider/events).

The signature is checked before anything is written; a bad signature, an altered body or a
stale timestamp gets 400 and changes nothing. Duplicates are acknowledged (200) and ignored.
"""

from __future__ import annotations

from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mcp_payments.domain.errors import DomainError, InvalidInput
from mcp_payments.services.container import Services
from mcp_payments.services.events import MAX_BODY, EventService, processed

PATH = "/provider/events"
SIGNATURE_HEADER = "Payments-Signature"
log = structlog.get_logger("mcp_payments.events")


def register(server: Any, services: Services) -> None:
    @server.custom_route(PATH, methods=["POST"])  # type: ignore[untyped-decorator]  # the SDK's decorator is untyped
    async def receive(request: Request) -> Response:
        events = services.get(EventService)
        try:
            body = await _body(request)
            event = events.verify(body, request.headers.get(SIGNATURE_HEADER, ""))
            status = await services.calls.background(
                "provider_event", lambda uow: events.receive(uow, event), lambda s: processed(event, s)
            )
        except DomainError as error:
            log.info("provider_event_rejected", code=error.code)
            # A retryable failure (the database is busy or out of reach) asks the provider to send it again.
            return JSONResponse(
                {"error": {"code": error.code, "message": error.message}}, status_code=503 if error.retryable else 400
            )
        log.info("provider_event", event_type=event["type"], status=status)
        return JSONResponse({"received": True, "status": status})


async def _body(request: Request) -> bytes:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise InvalidInput(f"event body is larger than {MAX_BODY} bytes")
    return body
