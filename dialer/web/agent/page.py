"""The agent's workspace page and its assets: ``GET /agent`` and ``GET /agent/static/NAME``.

Plain HTML, CSS and JavaScript shipped inside the package (``dialer/web/static/agent/``),
no build step and nothing fetched from elsewhere: the softphone's SIP library (JsSIP) is
vendored in ``static/agent/vendor/`` (version, hashes and licences in its README). Every
answer forbids framing and MIME sniffing and carries a Content-Security-Policy that allows
only this origin's scripts, so a customer's name or comment can never run as code even if it
slipped past the page's ``textContent`` rendering; the page may connect to this origin and,
with a softphone configured, to Asterisk's WebSocket origin only.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

_ASSETS = {
    "index.html": b"text/html; charset=utf-8",
    "agent.js": b"text/javascript; charset=utf-8",
    "labels.js": b"text/javascript; charset=utf-8",
    "agent.css": b"text/css; charset=utf-8",
    "phone.js": b"text/javascript; charset=utf-8",
    "vendor/jssip.min.js": b"text/javascript; charset=utf-8",
}
CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


class AgentPages:
    """The page's files, read once; ``connect``: one more origin the page may connect to
    (the softphone's ``wss://host:port``), empty for none."""

    def __init__(self, connect: str = "") -> None:
        folder = resources.files("dialer.web").joinpath("static/agent")
        self._files = {name: folder.joinpath(name).read_bytes() for name in _ASSETS}
        extra = f" {connect}".encode("ascii") if connect and connect.isascii() else b""
        self._csp = CSP.replace(b"connect-src 'self'", b"connect-src 'self'" + extra)

    def answer(self, request: Any, segments: list[str]) -> bytes | None:
        """The page or an asset for a GET of ``segments`` under /agent; None: not one."""
        if segments in ([], [""]):
            name = "index.html"
        elif len(segments) >= 2 and segments[0] == "static" and "/".join(segments[1:]) in _ASSETS:  # noqa: PLR2004
            name = "/".join(segments[1:])
        else:
            return None
        request.setHeader(b"content-type", _ASSETS[name])
        request.setHeader(b"cache-control", b"no-cache")
        request.setHeader(b"x-content-type-options", b"nosniff")
        request.setHeader(b"x-frame-options", b"DENY")
        request.setHeader(b"content-security-policy", self._csp)
        request.setHeader(b"referrer-policy", b"same-origin")
        return self._files[name]
