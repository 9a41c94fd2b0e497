"""A webhook receiver with the standard library alone: it verifies each delivery's Standard Webhooks signature.

    python examples/webhook_receiver.py --secret whsec_... [--port 8000]

then register it (in development, with MCP_PAYMENTS_WEBHOOKS_ALLOW_LOOPBACK=1 on the server):
create_webhook_endpoint url=http://127.0.0.1:8000/webhooks event_types=["payment.succeeded"]. Behind TLS in
production. A delivery is accepted (204) only when a `v1` signature matches and its timestamp is within five
minutes; the same webhook-id may arrive more than once (retries, replays): act on it once.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE = 5 * 60  # seconds either way
MAX_BODY = 1_000_000


class Invalid(Exception):
    """The delivery is not one we sent: refuse it and do nothing."""


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None) -> dict[str, object]:
    """The event, once a signature by `secret` over this id, timestamp and body is found; Invalid otherwise."""
    headers = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp, signatures = (headers.get(h, "") for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and stamp.isdigit() and signatures):
        raise Invalid("missing webhook-id, webhook-timestamp or webhook-signature")
    if abs((time.time() if now is None else now) - int(stamp)) > TOLERANCE:
        raise Invalid("timestamp outside the tolerance: a replay, or a clock far off")
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    for versioned in signatures.split(" "):
        version, _, signature = versioned.partition(",")
        if version == "v1" and hmac.compare_digest(expected, base64.b64decode(signature)):
            event = json.loads(body)
            assert isinstance(event, dict)
            return event
    raise Invalid("no signature matches")


def handler(secret: str, seen: set[str]) -> type[BaseHTTPRequestHandler]:
    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # the name http.server calls
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY:
                self.send_response(413)
                self.end_headers()
                return
            body = self.rfile.read(length)
            try:
                event = verify(secret, dict(self.headers.items()), body)
            except (Invalid, ValueError) as refused:
                print(f"refused: {refused}")
                self.send_response(400)
                self.end_headers()
                return
            msg_id = self.headers["webhook-id"]
            if msg_id not in seen:  # a retry or a replay of what was handled already is acknowledged, not redone
                seen.add(msg_id)
                print(f"{msg_id} {event['type']} {json.dumps(event['data'])}")
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # http.server's signature
            pass

    return Receiver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--secret", required=True, help="the whsec_... create_webhook_endpoint showed")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), handler(args.secret, set()))
    print(f"listening on http://{args.host}:{args.port}/")
    server.serve_forever()


if __name__ == "__main__":
    main()
