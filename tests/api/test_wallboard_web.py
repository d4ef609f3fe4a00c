"""Issue 19: ``/wallboard`` and its files are served like the dashboard, with the strict
policy and no inline script; it reads the push channel, with a viewer token from the URL's
fragment in an Authorization header; any other path under it is a 404."""

from __future__ import annotations

from api_harness import Dialer


def test_the_wallboard_page_is_served_with_the_strict_policy(dialer: Dialer) -> None:
    for path in ("/wallboard", "/wallboard/"):
        page = dialer.call("GET", path, role=None)
        assert page.status == 200, path
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
        text = page.body.decode("utf-8")
        assert "/wallboard/static/wallboard.js" in text
        assert "Нет результата" in text
        assert "<script>" not in text  # no inline script: the policy would block it


def test_the_wallboard_script_reads_the_stream_with_the_fragments_token(dialer: Dialer) -> None:
    script = dialer.call("GET", "/wallboard/static/wallboard.js", role=None)
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    code = script.body.decode("utf-8")
    for needle in ("/api/v1/events", "location.hash", "Authorization", "getReader"):
        assert needle in code
    assert "localStorage" not in code and "sessionStorage" not in code  # the token: memory only
    style = dialer.call("GET", "/wallboard/static/wallboard.css", role=None)
    assert style.headers["content-type"] == "text/css; charset=utf-8"


def test_other_paths_under_the_wallboard_are_not_found(dialer: Dialer) -> None:
    paths = ("/wallboard/static/nothing.js", "/wallboard/static/../../api/v1/campaign",
             "/wallboard/x", "/wallboard/static/", "/wallboard/static/dashboard.js")  # fmt: skip
    for path in paths:
        answer = dialer.call("GET", path, role=None)
        assert answer.status == 404, path
        assert "error" in answer.json
