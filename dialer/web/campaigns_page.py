"""``GET /campaigns``: the campaign editor for ops (issue 21), on ``/api/v1/campaigns``.

Its files are ``static/campaigns/`` (``index.html`` at ``/campaigns``, the others at
``/campaigns/static/NAME``), served with the pages' strict policy. The supervisor signs in
on the page itself (the dashboard's sign-in, ``/supervisor/login``); the API decides what
the session may do.
"""

from __future__ import annotations

from dialer.web.pages import CSS, HTML, JS, PageFolder, StaticPages

ASSETS = {"index.html": HTML, "campaigns.js": JS, "fields.js": JS, "campaigns.css": CSS}


class CampaignsPage(PageFolder):
    """``/campaigns`` and ``/campaigns/static/NAME``; anything else under it: 404."""

    def __init__(self, pages: StaticPages | None = None) -> None:
        super().__init__(pages or StaticPages("campaigns", ASSETS))
