"""Pages shipped inside the package: an ``index.html`` and its assets, served with a strict policy.

Plain HTML, CSS and JavaScript (``dialer/web/static/<folder>/``), no build step and nothing
fetched from elsewhere. Every answer forbids framing and MIME sniffing and carries a
Content-Security-Policy that allows only this origin's scripts and styles, so a customer's
name or comment can never run as code even if it slipped past a page's ``textContent``
rendering. The agent's workspace (``/agent``) and the ops dashboard (``/``) are two of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from twisted.web.resource import Resource

JS = b"text/javascript; charset=utf-8"
CSS = b"text/css; charset=utf-8"
HTML = b"text/html; charset=utf-8"
_NOT_FOUND = 404
CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"media-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    b"form-action 'self'"
)


class StaticPages:
    """The files of ``static/<folder>`` named in ``assets`` (name → content type), read once;
    ``connect``: one more origin the pages may connect to (e.g. ``wss://host:port``)."""

    def __init__(self, folder: str, assets: Mapping[str, bytes], connect: str = "") -> None:
        root = resources.files("dialer.web").joinpath(f"static/{folder}")
        self._types = dict(assets)
        self._files = {name: root.joinpath(name).read_bytes() for name in self._types}
        extra = f" {connect}".encode("ascii") if connect and connect.isascii() else b""
        self._csp = CSP.replace(b"connect-src 'self'", b"connect-src 'self'" + extra)

    def answer(self, request: Any, segments: list[str]) -> bytes | None:
        """``index.html`` for no segments, an asset for ``static/NAME``; None: not one."""
        if segments in ([], [""]):
            name = "index.html"
        elif len(segments) >= 2 and segments[0] == "static":  # noqa: PLR2004
            name = "/".join(segments[1:])
        else:
            return None
        content_type = self._types.get(name)
        if content_type is None:
            return None
        request.setHeader(b"content-type", content_type)
        request.setHeader(b"cache-control", b"no-cache")
        request.setHeader(b"x-content-type-options", b"nosniff")
        request.setHeader(b"x-frame-options", b"DENY")
        request.setHeader(b"content-security-policy", self._csp)
        request.setHeader(b"referrer-policy", b"same-origin")
        return self._files[name]


class PageFolder(Resource):
    """One page's folder as a leaf resource: ``index.html`` at its root, the assets at
    ``static/NAME``; anything else under it is a 404 naming the path (JSON, as the API's)."""

    isLeaf = True

    def __init__(self, pages: StaticPages) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._pages = pages

    def render_GET(self, request: Any) -> bytes:
        segments = [s.decode("utf-8", "replace") for s in request.postpath]
        page = self._pages.answer(request, segments)
        if page is None:
            request.setResponseCode(_NOT_FOUND)
            request.setHeader(b"content-type", b"application/json; charset=utf-8")
            path = request.path.decode("utf-8", "replace")
            return json.dumps({"error": f"no such path: {path}"}, ensure_ascii=False).encode()
        return page
