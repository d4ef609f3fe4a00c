"""``GET /campaigns``: the campaign editor for ops (issue 21), on ``/api/v1/campaigns``.

Its files are ``static/campaigns/`` (``index.html`` at ``/campaigns``, the others at
``/campaigns/static/NAME``), served with the pages' strict policy. The supervisor signs in
on the page itself (the dashboard's sign-in, ``/supervisor/login``); the API decides what
the session may do.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.web.resource import Resource

from dialer.web.pages import CSS, HTML, JS, StaticPages

ASSETS = {"index.html": HTML, "campaigns.js": JS, "fields.js": JS, "campaigns.css": CSS}
_NOT_FOUND = 404


class CampaignsPage(Resource):
    """``/campaigns`` and ``/campaigns/static/NAME``; anything else under it: 404."""

    isLeaf = True

    def __init__(self, pages: StaticPages | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._pages = pages or StaticPages("campaigns", ASSETS)

    def render_GET(self, request: Any) -> bytes:
        segments = [s.decode("utf-8", "replace") for s in request.postpath]
        page = self._pages.answer(request, segments)
        if page is None:
            request.setResponseCode(_NOT_FOUND)
            request.setHeader(b"content-type", b"application/json; charset=utf-8")
            path = request.path.decode("utf-8", "replace")
            return json.dumps({"error": f"no such path: {path}"}, ensure_ascii=False).encode()
        return page
