"""The browser harness: a test host page served on loopback, carrying the views' calls to a real server, in headless
Chromium from the system's packages (never a downloaded browser).

host.html plays the host side of MCP Apps; this module serves it and its two endpoints: /view reads a ui:// resource
and /call calls a tool, both through a real MCP client over streamable HTTP with the API key of the role the page
names. A refusal (a JSON-RPC error, as for a role that may not call the tool) goes back to the view as the error of
its tools/call.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import anyio
import anyio.to_thread
import pytest
import uvicorn
from mcp.client import Client
from mcp.shared.exceptions import MCPError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from tests.e2e.processes import with_token

CHROMIUM = os.environ.get("MCP_PAYMENTS_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("MCP_PAYMENTS_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
HOST_PAGE = Path(__file__).with_name("host.html")
WAIT_SECONDS = 30  # generous: two cores shared with other suites
T = TypeVar("T")


def browser_or_skip() -> None:
    """Skip with the reason when Chromium or its driver is missing; in CI (CI=true) fail instead: .ci/run installs
    them (scripts/ensure-chromium)."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not Path(path).exists()]
    if not missing:
        return
    reason = f"headless Chromium is not installed ({', '.join(missing)} missing): run scripts/ensure-chromium"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI: {reason}")
    pytest.skip(reason)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium driven through chromedriver, on a fresh profile; quit afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="mcpp-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--window-size=1280,2400",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _result(result: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = result.model_dump(by_alias=True, exclude_none=True, mode="json")
    return dumped


def host_app(clients: dict[str, Client]) -> Starlette:
    """The host page and its endpoints, calling the server through `clients` (a connected client per role)."""

    async def page(_: Request) -> HTMLResponse:
        return HTMLResponse(HOST_PAGE.read_text())

    async def view(request: Request) -> JSONResponse:
        body = await request.json()
        read = await clients[body["as"]].read_resource(body["uri"])
        content = read.contents[0]
        return JSONResponse({"html": getattr(content, "text", ""), "mime_type": content.mime_type})

    async def call(request: Request) -> JSONResponse:
        body = await request.json()
        try:
            result = await clients[body["as"]].call_tool(body["name"], body["arguments"])
        except MCPError as refused:
            return JSONResponse({"error": {"code": refused.error.code, "message": refused.error.message}})
        return JSONResponse({"result": _result(result)})

    return Starlette(
        routes=[Route("/", page), Route("/view", view, methods=["POST"]), Route("/call", call, methods=["POST"])]
    )


@asynccontextmanager
async def hosted(server: str, keys: dict[str, str]) -> AsyncIterator[str]:
    """Serve the host page on a free loopback port for the test's duration, with a client of the server at `server`
    (its base URL) connected for each role of `keys`; yields the page's base URL."""
    port = free_port()
    async with AsyncExitStack() as stack:
        clients = {}
        for role, key in keys.items():
            transport = await stack.enter_async_context(with_token("http", server, key))
            clients[role] = await stack.enter_async_context(Client(transport))
        # No log_config nor log_level: uvicorn would set its loggers' handlers and levels for the rest of this test
        # process (test_log_rendering then lost uvicorn's lines when it ran after a browser test in one worker).
        config = uvicorn.Config(host_app(clients), host="127.0.0.1", port=port, log_config=None, lifespan="off")
        web = uvicorn.Server(config)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(web.serve)
            with anyio.fail_after(WAIT_SECONDS):
                while not web.started:  # noqa: ASYNC110  # uvicorn offers no event to wait on
                    await anyio.sleep(0.02)
            try:
                yield f"http://127.0.0.1:{port}"
            finally:
                web.should_exit = True


class Page:
    """The host page in the browser, one view in it; every browser step runs in a worker thread, so the harness's
    server (on this event loop) answers the page meanwhile."""

    def __init__(self, driver: Any, host: str) -> None:
        self.driver = driver
        self.host = host

    async def run(self, fn: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(fn)

    async def open(
        self,
        view: str,
        tool: str,
        arguments: dict[str, Any],
        *,
        role: str,
        first_role: str | None = None,
        theme: str = "light",
        width: int = 720,
        frames: int = 1,
    ) -> None:
        query = {"view": view, "tool": tool, "args": json.dumps(arguments), "as": role, "theme": theme}
        query |= {"width": str(width), "frames": str(frames), "first_as": first_role or role}
        await self.run(lambda: self.driver.get(f"{self.host}/?{urlencode(query)}"))

    async def ready(self, frame: int = 0, *, not_state: str | None = None) -> str:
        """Wait until the view says it has rendered (body[data-ready]); returns what it says."""
        from selenium.webdriver.support.ui import WebDriverWait

        def wait() -> str:
            self.frame(frame)

            def state(driver: Any) -> str | None:
                value = driver.execute_script("return document.body.dataset.ready || null")
                return None if value is None or value == not_state else str(value)

            try:
                return str(WebDriverWait(self.driver, WAIT_SECONDS).until(state))
            finally:
                self.driver.switch_to.default_content()

        try:
            return await self.run(wait)
        except Exception as error:
            raise AssertionError(f"the view did not render: {await self.diagnostics()}") from error

    async def expect(self, state: str, frame: int = 0, *, not_state: str | None = None) -> None:
        """Wait for the view to render and assert what it says it shows, with what it shows if it is not that."""
        found = await self.ready(frame, not_state=not_state)
        if found != state:
            text = await self.script("return document.body.innerText", frame=frame)
            raise AssertionError(f"the view shows {found!r}, not {state!r}: {text}\n{await self.diagnostics()}")

    def frame(self, index: int) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver.switch_to.default_content()
        locator = (By.ID, f"view{index}")
        WebDriverWait(self.driver, WAIT_SECONDS).until(
            expected_conditions.frame_to_be_available_and_switch_to_it(locator)
        )

    async def script(self, source: str, *args: Any, frame: int = 0) -> Any:
        """Run `source` inside the view's document (its `return` value comes back)."""

        def run() -> Any:
            self.frame(frame)
            try:
                return self.driver.execute_script(source, *args)
            finally:
                self.driver.switch_to.default_content()

        return await self.run(run)

    async def values(self, frame: int = 0) -> dict[str, str]:
        """Every number the view shows with its key (data-k), as displayed."""
        found: dict[str, str] = await self.script(
            "const out = {}; document.querySelectorAll('[data-k]').forEach(e => out[e.dataset.k] = e.textContent);"
            " return out;",
            frame=frame,
        )
        return found

    async def click(self, selector: str, frame: int = 0) -> None:
        from selenium.webdriver.common.by import By

        def click() -> None:
            self.frame(frame)
            try:
                self.driver.find_element(By.CSS_SELECTOR, selector).click()
            finally:
                self.driver.switch_to.default_content()

        await self.run(click)

    async def screenshot(self, path: Path, frame: int = 0) -> None:
        """The view's frame alone, as a PNG."""
        from selenium.webdriver.common.by import By

        def shoot() -> None:
            self.driver.switch_to.default_content()
            self.driver.find_element(By.ID, f"view{frame}").screenshot(str(path))

        path.parent.mkdir(parents=True, exist_ok=True)
        await self.run(shoot)

    async def console_problems(self) -> list[str]:
        """Errors in the browser's console since the last look: script errors, and any request the view's content
        security policy refused."""
        entries = await self.run(lambda: self.driver.get_log("browser"))
        return [
            e["message"]
            for e in entries
            if e["level"] == "SEVERE" or "Content Security Policy" in e["message"] or "Refused to" in e["message"]
        ]

    async def diagnostics(self) -> str:
        """What the host saw: its errors and each message's direction, method, id and error (not the results)."""
        errors, log = await self.run(lambda: self.driver.execute_script("return [window.hostErrors, window.hostLog]"))
        keys = ("from", "to", "method", "id", "error")
        messages = [{k: m[k] for k in keys if k in m} for m in log or []]
        return (
            json.dumps({"errors": errors, "messages": messages}, default=str)
            + f"\nconsole: {await self.console_problems()}"
        )
