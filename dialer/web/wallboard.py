"""``GET /wallboard``: the big-screen page on the dashboard's push channel (issue 19).

Its files are ``static/wallboard/`` (``index.html`` at ``/wallboard``, the others at
``/wallboard/static/NAME``), served with the pages' strict policy. The page itself reads
``GET /api/v1/events`` with a supervisor's session, or with a viewer token it was given in
the URL's fragment (``/wallboard#token=…``: the fragment never reaches the server).
"""

from __future__ import annotations

from dialer.web.pages import CSS, HTML, JS, PageFolder, StaticPages

ASSETS = {"index.html": HTML, "wallboard.js": JS, "wallboard.css": CSS}


class WallboardResource(PageFolder):
    """``/wallboard`` and ``/wallboard/static/NAME``; anything else under it: 404."""

    def __init__(self, pages: StaticPages | None = None) -> None:
        super().__init__(pages or StaticPages("wallboard", ASSETS))
