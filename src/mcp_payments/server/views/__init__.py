"""MCP Apps views: the dashboard, a payment's timeline, the approval card and the wallet view.

Each view is a `ui://` HTML document (text/html;profile=mcp-app) with its JavaScript and CSS inline (the host's
default content security policy allows no fetch and no CDN). A view's file beside this module holds only what is its
own: a <style> block, then its body (markup and its <script>). The page around it is made here when it is first
read (`page`): the common head, with the view's title, base.css before the view's own style, and bridge.js (the app
side of the Apps protocol: ui/initialize, the host's theme, tool-input and tool-result, tools/call through the host)
as a script of its own ahead of the view's (a top-level const of one classic script is seen by the next).

A tool shows in a view through its `_meta.ui.resourceUri` (Toolbox.show_in_view); its result stays the same text
and structured content for hosts without Apps. Visibility is not a security boundary: every call a view makes is a
tools/call the server checks like any other.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable
from importlib import resources

from mcp.server.apps import Apps

DASHBOARD = "ui://mcp-payments/dashboard.html"
PAYMENT = "ui://mcp-payments/payment.html"
APPROVAL = "ui://mcp-payments/approval.html"
WALLET = "ui://mcp-payments/wallet.html"

_FILES = {DASHBOARD: "dashboard.html", PAYMENT: "payment.html", APPROVAL: "approval.html", WALLET: "wallet.html"}
_TITLES = {
    DASHBOARD: "Payments dashboard",
    PAYMENT: "Payment timeline",
    APPROVAL: "Approval card",
    WALLET: "Wallet",
}
# Existing tools shown in a view (a held money call's result shows the approval card too: Toolbox.holdable).
SHOWN_IN = {"get_payment": PAYMENT, "get_approval": APPROVAL, "get_wallet": WALLET}
# The toolset whose tools a view reads and calls: a deployment without it (--toolsets) has no such view.
TOOLSETS = {DASHBOARD: "analytics", PAYMENT: "payments", APPROVAL: "controls", WALLET: "wallets"}


_OWN = re.compile(r"<style>\n(?P<style>.*?)</style>\n(?P<body>.*)", re.DOTALL)


def _read(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


@functools.cache
def page(uri: str) -> str:
    """The view's whole HTML document: the common head around the view's own file; read once per process."""
    name = _FILES[uri]
    own = _OWN.fullmatch(_read(name))
    if own is None:
        raise ValueError(f"{name} must start with its own <style> block, then its body")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(_TITLES[uri])}</title>
<style>
{_read("base.css")}{own["style"]}</style>
<script>
{_read("bridge.js")}</script>
</head>
<body>
{own["body"]}</body>
</html>
"""


def apps(exposes: Callable[[str], bool]) -> Apps:
    """The MCP Apps extension with the views of the toolsets this deployment exposes (MCPServer(extensions=[...])
    advertises it)."""
    extension = Apps()
    for uri in _FILES:
        if exposes(TOOLSETS[uri]):
            extension.add_html_resource(uri, page(uri), name=uri, title=_TITLES[uri], prefers_border=True)
    return extension
