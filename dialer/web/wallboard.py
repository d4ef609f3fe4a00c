"""``GET /wallboard``: the big-screen page on the dashboard's push channel (issue 19).

Its files are ``static/wallboard/`` (``index.html`` at ``/wallboard``, the others at
``/wallboard/static/NAME``), served with the pages' strict policy. The page itself reads
``GET /api/v1/events`` with a supervisor's session, or with a viewer token it was given in
the URL's fragment (``/wallboard#token=…``: the fragment never reaches the server).
"""

from __future__ import annotations

import json
from typing import Any

from twisted.web.resource import Resource

from dialer.web.pages import CSS, HTML, JS, StaticPages

ASSETS = {"index.html": HTML, "wallboard.js": JS, "wallboard.css": CSS}
_NOT_FOUND = 404


class WallboardResource(Resource):
    """``/wallboard`` and ``/wallboard/static/NAME``; anything else under it: 404."""

    isLeaf = True

    def __init__(self, pages: StaticPages | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._pages = pages or StaticPages("wallboard", ASSETS)

    def render_GET(self, request: Any) -> bytes:
        segments = [s.decode("utf-8", "replace") for s in request.postpath]
        page = self._pages.answer(request, segments)
        if page is None:
            request.setResponseCode(_NOT_FOUND)
            request.setHeader(b"content-type", b"application/json; charset=utf-8")
            path = request.path.decode("utf-8", "replace")
            return json.dumps({"error": f"no such path: {path}"}, ensure_ascii=False).encode()
        return page
