"""The agent's workspace page and its assets: ``GET /agent`` and ``GET /agent/static/NAME``.

Served by ``dialer.web.pages.StaticPages`` (plain files, a strict Content-Security-Policy).
The softphone's SIP library (JsSIP) is vendored in ``static/agent/vendor/`` (version, hashes
and licences in its README); with a softphone configured the page may also connect to
Asterisk's WebSocket origin.
"""

from __future__ import annotations

from dialer.web.pages import CSS, HTML, JS, StaticPages

_ASSETS = {
    "index.html": HTML,
    "agent.js": JS,
    "labels.js": JS,
    "agent.css": CSS,
    "phone.js": JS,
    "vendor/jssip.min.js": JS,
}


def agent_pages(connect: str = "") -> StaticPages:
    """The workspace's files; ``connect``: the softphone's ``wss://host:port``, or empty."""
    return StaticPages("agent", _ASSETS, connect)
