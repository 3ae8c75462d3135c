"""/ui over real HTTP: the page and its files come from the package with a strict CSP, nothing else is
served, ``/`` stays Ollama's, and no script writes model text into the page as markup."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import pytest

from corral.api.ui.routes import CONTENT_SECURITY_POLICY, asset_names
from tests.conftest import LiveServer

STATIC = resources.files("corral.api.ui").joinpath("static")


def test_page_and_files_are_served_with_security_headers(live_server: LiveServer) -> None:
    c = live_server.client
    for path in ("/ui", "/ui/"):
        r = c.get(path)
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        assert '<script type="module" src="/ui/main.js">' in r.text
        assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        head = c.head(path)
        assert (head.status_code, head.content) == (200, b"")
        assert head.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    types = {
        ".js": "text/javascript; charset=utf-8",
        ".css": "text/css; charset=utf-8",
        ".svg": "image/svg+xml",
    }
    for name in asset_names():
        r = c.get(f"/ui/{name}")
        assert r.status_code == 200, name
        assert r.content == STATIC.joinpath(name).read_bytes()
        suffix = name[name.rindex(".") :]
        assert r.headers["content-type"] == types.get(suffix, "text/html; charset=utf-8")
        assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_policy_allows_only_this_origin_and_no_inline_code() -> None:
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'none'"
    for name in ("script-src", "style-src", "connect-src", "img-src"):
        assert directives[name] == "'self'", name
    assert "unsafe" not in CONTENT_SECURITY_POLICY
    assert directives["frame-ancestors"] == "'none'"


@pytest.mark.parametrize(
    "path",
    [
        "/ui/nope.js",
        "/ui/..%2froutes.py",
        "/ui/%2e%2e/__init__.py",
        "/ui/routes.py",
        "/ui/static",
        "/ui/INDEX.HTML",
    ],
)
def test_nothing_but_the_listed_files(live_server: LiveServer, path: str) -> None:
    r = live_server.client.get(path)
    assert r.status_code == 404
    assert "import" not in r.text


def test_root_stays_ollamas(live_server: LiveServer) -> None:
    r = live_server.client.get("/")
    assert (r.status_code, r.text) == (200, "Ollama is running")


def test_ui_is_not_in_the_api_schema(live_server: LiveServer) -> None:
    paths = live_server.client.get("/schema/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/ui")]


class _Markup(HTMLParser):
    """Collects what the CSP would block: inline scripts, style elements and attributes, handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.sources: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script":
            self._in_script = True
            if not names.get("src"):
                self.problems.append("inline <script>")
            else:
                self.sources.append(str(names["src"]))
        if tag == "style":
            self.problems.append("<style> element")
        for name, _ in attrs:
            if name == "style" or name.startswith("on"):
                self.problems.append(f"{name}= on <{tag}>")
        if tag == "link" and names.get("rel") == "stylesheet":
            self.sources.append(str(names["href"]))

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append("inline script text")


def test_page_has_no_inline_code_and_loads_only_its_own_files() -> None:
    parser = _Markup()
    parser.feed(STATIC.joinpath("index.html").read_text())
    assert parser.problems == []
    assert parser.sources and all(s.startswith("/ui/") and s[4:] in asset_names() for s in parser.sources)


# Sinks that would parse a string as HTML or code. The page builds nodes and sets textContent only.
_SINKS = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setHTML")


def test_scripts_never_parse_strings_as_markup_or_code() -> None:
    scripts = [n for n in asset_names() if n.endswith(".js")]
    assert len(scripts) >= 5
    for name in scripts:
        text = STATIC.joinpath(name).read_text()
        assert not _SINKS.search(text), name
        imports = re.findall(r'from "([^"]+)"', text)
        assert all(i.startswith("./") and i[2:] in asset_names() for i in imports), (name, imports)


def test_readme_shows_the_two_screenshots_from_docs() -> None:
    root = Path(__file__).parents[3]
    readme = (root / "README.md").read_text()
    for name in ("ui-models.png", "ui-chat.png"):
        assert f"](docs/{name})" in readme
        assert (root / "docs" / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
