"""An issuer's JWKS served over HTTP on a loopback port, as an authorization server publishes it."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # the base class's signature
        pass


@contextmanager
def jwks_served(document: dict[str, Any], directory: Path) -> Iterator[str]:
    """Serve `document` at http://127.0.0.1:PORT/jwks.json from a thread; yields that URL."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "jwks.json").write_text(json.dumps(document))
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
