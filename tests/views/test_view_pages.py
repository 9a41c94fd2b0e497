"""The MCP Apps views' pages (server/views/__init__.py): each view's file holds only what is its own, and the loader
makes every page the same whole document around it: one common head with the view's title, base.css before the
view's own style, bridge.js as a script ahead of the view's."""

from __future__ import annotations

from html.parser import HTMLParser
from importlib import resources

from mcp_payments.server import views
from mcp_payments.server.views import APPROVAL, DASHBOARD, PAYMENT, WALLET, page

VIEWS = (DASHBOARD, PAYMENT, APPROVAL, WALLET)
VOID = {"meta", "input", "br", "img", "hr", "link", "col", "wbr", "area", "base", "source"}
COMMON = ("<!doctype", "<html", "<head>", "<meta", "<title>", "</head>", "<body>", "</body>", "</html>")


def shipped(name: str) -> str:
    return resources.files(views).joinpath(name).read_text(encoding="utf-8")


class Outline(HTMLParser):
    """Each element's tag with the tags it sits in, in document order; the text of <title>."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.seen: list[tuple[str, ...]] = []
        self.title = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append((*self.open, tag))
        if tag not in VOID:  # never closed
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open, tag
        assert self.open[-1] == tag, (self.open, tag)
        self.open.pop()

    def handle_data(self, data: str) -> None:
        if self.open and self.open[-1] == "title":
            self.title += data


def test_a_view_file_holds_only_what_is_its_own() -> None:
    files = [name for name in resources.files(views).iterdir() if name.name.endswith(".html")]
    assert sorted(f.name for f in files) == ["approval.html", "dashboard.html", "payment.html", "wallet.html"]
    for file in files:
        text = file.read_text(encoding="utf-8")
        assert text.startswith("<style>\n"), file.name
        assert [tag for tag in COMMON if tag in text.lower()] == [], file.name
        assert "/*BASE_CSS*/" not in text, file.name
        assert "/*BRIDGE_JS*/" not in text, file.name


def test_every_page_is_one_whole_document_with_the_common_head_around_its_own_file() -> None:
    base, bridge = shipped("base.css"), shipped("bridge.js")
    for uri in VIEWS:
        html = page(uri)
        own = shipped(views._FILES[uri])
        outline = Outline()
        outline.feed(html)
        outline.close()

        assert html.startswith('<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'), uri
        assert outline.open == [], uri  # every element closed
        assert outline.title == views._TITLES[uri]
        assert [s for s in outline.seen if len(s) == 2] == [("html", "head"), ("html", "body")], uri
        assert outline.seen[:6] == [
            ("html",),
            ("html", "head"),
            ("html", "head", "meta"),
            ("html", "head", "meta"),
            ("html", "head", "title"),
            ("html", "head", "style"),
        ], uri
        assert ("html", "head", "script") in outline.seen
        assert ("html", "body", "script") in outline.seen  # the view's own, after the bridge
        assert html.count(base) == 1, uri
        assert html.count(bridge) == 1, uri
        own_style = own.split("</style>\n", 1)[0].removeprefix("<style>\n")
        assert html.index(base) < html.index(own_style) < html.index("</head>") < html.index(own.split("</style>\n")[1])
        assert html.index(bridge) < html.index("</head>"), uri
