"""Recordings for supervisors over raw HTTP through the real twisted.web site (issue 19):
``GET|HEAD /api/v1/calls/{attempt}/recording`` with range requests (200, 206, 416), only for
ops tokens and signed-in supervisors (403 for viewer and CRM tokens and agents), never a
file outside the recordings directory (``../``, percent-encoded, absolute, NUL, symbolic
links), 404 for a deleted file, each play audited; and ``GET /api/v1/agents/{id}/day``."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from agent_web import OWN, PASSWORD, refusal
from api_harness import NOW, Dialer
from http_wire import WireResponse, exchange, raw_request
from twisted.internet.task import Clock

from dialer.agent_auth.passwords import PasswordHasher
from dialer.recordings.files import RecordingFiles
from dialer.storage.audit import SqlAuditLog
from dialer.storage.supervisors import SqlSupervisors
from dialer.web import site as web
from dialer.web.agent.app import build_agent
from dialer.web.api.app import build_api
from dialer.web.supervisor import build_supervisors

SUPERVISOR_PASSWORD = "наблюдатель-1"  # noqa: S105 - a test password
ORDER = "НФ-00123"  # a CRM id in Cyrillic
WAV = b"RIFF" + bytes(range(256)) * 8  # 2052 bytes standing in for a recording


class Site:
    """The site with a recordings directory of its own; one browser's cookies."""

    def __init__(self, dialer: Dialer, root: Path, retention_days: int = 0) -> None:
        self.dialer, self.root = dialer, root
        parts = build_supervisors(dialer.engine, dialer.ops, dialer.agent_auth,
                                  hasher=PasswordHasher(n=2**10))  # fmt: skip
        self.parts = parts
        files = RecordingFiles(root, retention_days)
        self.site = web.build_site(
            Clock(), None, lambda _: 0, lambda: (True, {}), lambda: dialer.now,
            extra={b"api": build_api(dialer.engine, dialer.ops, dialer.agent_auth, parts, files),
                   b"supervisor": parts.resource,
                   b"agent": build_agent(dialer.engine, dialer.ops, dialer.agent_auth,
                                         dialer.feed, reactor=dialer.reactor, secure=False)},
        )  # fmt: skip
        self.cookie: str | None = None

    def send(self, method: str, target: str, **headers: str) -> WireResponse:
        sent = {k.replace("_", "-").encode(): v.encode() for k, v in headers.items()}
        if self.cookie is not None and b"Cookie" not in sent:
            sent[b"Cookie"] = self.cookie.encode()
        return exchange(self.site, raw_request(method.encode(), target.encode(), sent, b""))

    def as_role(self, role: str, method: str, target: str, **headers: str) -> WireResponse:
        token = self.dialer.tokens[role]
        return self.send(method, target, Authorization=f"Bearer {token}", **headers)

    def sign_in_supervisor(self) -> None:
        body = json.dumps({"login": "anna", "password": SUPERVISOR_PASSWORD}).encode()
        reply = exchange(self.site, raw_request(b"POST", b"/supervisor/login",
                                                {b"Origin": OWN.encode()}, body))  # fmt: skip
        assert reply.status == 200, reply.body
        self.cookie = reply.headers["set-cookie"].split(";")[0]

    def sign_in_agent(self) -> None:
        self.dialer.agent_auth.set_password("1001", PASSWORD)
        body = json.dumps({"agent": "1001", "password": PASSWORD}).encode()
        headers = {b"Content-Type": b"application/json"}
        reply = exchange(self.site, raw_request(b"POST", b"/agent/login", headers, body))
        assert reply.status == 200, reply.body
        self.cookie = reply.headers["set-cookie"].split(";")[0]

    def plays(self) -> list[Any]:
        return [e for e in SqlAuditLog(self.dialer.engine).entries()
                if e.action == "play_recording"]  # fmt: skip


@pytest.fixture
def site(dialer: Dialer, tmp_path: Path) -> Site:
    SqlSupervisors(dialer.engine).add("anna", NOW, name="Анна", extension="201")
    root = tmp_path / "monitor" / "dialer"
    root.mkdir(parents=True)
    s = Site(dialer, root)
    s.parts.auth.set_password("anna", SUPERVISOR_PASSWORD)
    return s


def recorded(site: Site, order_id: str = ORDER, name: str | None = None,
             data: bytes = WAV, phone: str = "+79165830421") -> str:  # fmt: skip
    """An answered call of ``order_id`` whose recording Asterisk reported; its attempt."""
    site.dialer.admit(order_id, phone)
    attempt = _next_attempt(site.dialer)
    file = name or f"{attempt}.wav"
    (site.root / file).write_bytes(data) if "/" not in file else None
    reported = file if "/" in file else f"/var/spool/asterisk/monitor/dialer/{file}"
    assert site.dialer.answer(order_id, recording=reported) == attempt
    return attempt


def _next_attempt(dialer: Dialer) -> str:
    return f"att-{len(dialer.telephony.originated) + 1}"


def url(attempt: str) -> str:
    return f"/api/v1/calls/{attempt}/recording"


# ---- serving ------


def test_an_ops_token_gets_the_whole_recording_as_audio_wav_with_accept_ranges(
    site: Site,
) -> None:
    reply = site.as_role("ops", "GET", url(recorded(site)))
    assert reply.status == 200 and reply.body == WAV
    assert reply.headers["content-type"] == "audio/wav"
    assert reply.headers["accept-ranges"] == "bytes"
    assert reply.headers["content-length"] == str(len(WAV))
    assert "content-range" not in reply.headers


def test_a_range_request_gets_206_with_content_range(site: Site) -> None:
    attempt = recorded(site)
    reply = site.as_role("ops", "GET", url(attempt), Range="bytes=100-199")
    assert reply.status == 206 and reply.body == WAV[100:200]
    assert reply.headers["content-range"] == f"bytes 100-199/{len(WAV)}"
    assert reply.headers["content-length"] == "100"
    tail = site.as_role("ops", "GET", url(attempt), Range="bytes=-4")
    assert tail.status == 206 and tail.body == WAV[-4:]


def test_a_range_past_the_end_is_416_with_the_size(site: Site) -> None:
    reply = site.as_role("ops", "GET", url(recorded(site)), Range=f"bytes={len(WAV)}-")
    assert refusal(reply, 416, "Range")
    assert reply.headers["content-range"] == f"bytes */{len(WAV)}"


def test_a_recording_larger_than_a_chunk_is_streamed_whole(site: Site) -> None:
    big = bytes(range(256)) * 1024  # 256 KiB: four 64 KiB chunks
    reply = site.as_role("ops", "GET", url(recorded(site, data=big)))
    assert reply.status == 200 and reply.body == big


def test_head_gives_the_headers_without_the_body_and_is_not_a_play(site: Site) -> None:
    reply = site.as_role("ops", "HEAD", url(recorded(site)))
    assert reply.status == 200 and reply.body == b""
    assert reply.headers["content-length"] == str(len(WAV))
    assert site.plays() == []


# ---- who may ------


@pytest.mark.parametrize("role", ["viewer", "crm"])
def test_viewer_and_crm_tokens_may_not_play_recordings(site: Site, role: str) -> None:
    reply = site.as_role(role, "GET", url(recorded(site)))
    assert reply.status == 403 and b"RIFF" not in reply.body


def test_an_agent_session_may_not_play_recordings(site: Site) -> None:
    attempt = recorded(site)
    site.sign_in_agent()
    reply = site.send("GET", url(attempt))
    assert reply.status == 403 and b"RIFF" not in reply.body


def test_without_credentials_it_is_401(site: Site) -> None:
    assert site.send("GET", url(recorded(site))).status == 401


def test_a_signed_in_supervisor_plays_with_the_cookie_alone_as_an_audio_element_does(
    site: Site,
) -> None:
    attempt = recorded(site)
    site.sign_in_supervisor()
    reply = site.send("GET", url(attempt), Range="bytes=0-")  # no CSRF header on a GET
    assert reply.status == 200 and reply.body == WAV


# ---- the audit ------


def test_each_play_is_audited_once_with_attempt_order_and_agent(site: Site) -> None:
    attempt = recorded(site)
    site.sign_in_supervisor()
    site.send("GET", url(attempt), Range="bytes=0-")  # the play starts
    site.send("GET", url(attempt), Range="bytes=1024-")  # the element seeks: same play
    site.send("GET", url(attempt), Range="bytes=2000-2051")
    (play,) = site.plays()
    assert (play.actor, play.actor_kind, play.result) == ("anna", "supervisor", "accepted")
    assert (play.attempt_id, play.order_id, play.agent_id) == (attempt, ORDER, "1001")
    site.as_role("ops", "GET", url(attempt))  # a second play, by a token
    assert [p.actor_kind for p in site.plays()] == ["token", "supervisor"]


def test_a_refused_request_is_not_audited(site: Site) -> None:
    attempt = recorded(site)
    site.as_role("viewer", "GET", url(attempt))
    site.as_role("ops", "GET", url("att-999"))
    assert site.plays() == []


# ---- never outside the directory ------


@pytest.mark.parametrize(
    "target",
    [
        "/api/v1/calls/..%2f..%2f..%2fetc%2fpasswd/recording",
        "/api/v1/calls/%2e%2e%2f%2e%2e%2fetc%2fpasswd/recording",
        "/api/v1/calls/%252e%252e%252fetc/recording",  # encoded twice
        "/api/v1/calls/%2fetc%2fpasswd/recording",  # an absolute path
        "/api/v1/calls/att-1%00.wav/recording",  # NUL
        "/api/v1/calls/..%5c..%5cwindows/recording",  # backslashes
        "/api/v1/calls/../recording",
    ],
)
def test_a_path_in_place_of_the_attempt_is_refused(site: Site, target: str) -> None:
    recorded(site)
    reply = site.as_role("ops", "GET", target)
    assert reply.status in (400, 404), reply.body
    data = reply.json()
    assert data["error"] and data.get("field", "attempt_id") == "attempt_id"
    assert b"root:" not in reply.body


def test_dot_segments_in_the_target_reach_no_file(site: Site) -> None:
    recorded(site)
    reply = site.as_role("ops", "GET", "/api/v1/calls/att-1/../../../../etc/passwd")
    assert reply.status == 404 and b"root:" not in reply.body


@pytest.mark.parametrize(
    "reported",
    [
        "../../../../etc/passwd",
        "/var/spool/asterisk/monitor/dialer/../../../../etc/passwd",
        "/etc/passwd",  # absolute outside: only its name is looked up inside the directory
        "/var/spool/asterisk/monitor/dialer/a.wav\x00/etc/passwd",
    ],
)
def test_a_tampered_recording_path_on_the_attempt_serves_nothing_outside(
    site: Site, reported: str
) -> None:
    attempt = recorded(site, name=reported)
    refusal(site.as_role("ops", "GET", url(attempt)), 404, "attempt_id")


def test_a_symbolic_link_leaving_the_directory_is_refused(site: Site, tmp_path: Path) -> None:
    secret = tmp_path / "secret.wav"
    secret.write_bytes(b"RIFF-secret")
    site.dialer.admit(ORDER)
    attempt = _next_attempt(site.dialer)
    (site.root / f"{attempt}.wav").symlink_to(secret)
    site.dialer.answer(ORDER, recording=f"/var/spool/asterisk/monitor/dialer/{attempt}.wav")
    reply = site.as_role("ops", "GET", url(attempt))
    assert refusal(reply, 404, "attempt_id") and b"secret" not in reply.body


# ---- missing ------


def test_unknown_attempt_no_recording_and_missing_file_are_404_naming_the_attempt(
    site: Site,
) -> None:
    refusal(site.as_role("ops", "GET", url("att-404")), 404, "attempt_id")
    site.dialer.admit("A-2", "+79165830422")
    plain = site.dialer.answer("A-2")  # no recording reported
    assert "нет записи" in refusal(site.as_role("ops", "GET", url(plain)), 404, "attempt_id")[
        "error"]  # fmt: skip
    attempt = recorded(site, "A-3", phone="+79165830423")
    (site.root / f"{attempt}.wav").unlink()
    assert "не найден" in refusal(site.as_role("ops", "GET", url(attempt)), 404,
                                  "attempt_id")["error"]  # fmt: skip


def test_a_file_deleted_by_retention_says_so(dialer: Dialer, tmp_path: Path) -> None:
    root = tmp_path / "rec"
    root.mkdir()
    site = Site(dialer, root, retention_days=30)
    attempt = recorded(site)
    dialer.now += timedelta(days=31)
    removed = RecordingFiles(root, 30).clean(dialer.now + timedelta(days=3650))
    assert [p.name for p in removed] == [f"{attempt}.wav"]
    reply = site.as_role("ops", "GET", url(attempt))
    assert "запись удалена по сроку хранения" in refusal(reply, 404, "attempt_id")["error"]
    order = site.as_role("ops", "GET", "/api/v1/orders/" + ORDER.replace("НФ", "%D0%9D%D0%A4"))
    assert order.json()["attempts"][-1]["recording"].endswith(f"{attempt}.wav")  # kept


# ---- an agent's day ------


def test_an_agents_day_lists_their_attempts_with_recordings(site: Site) -> None:
    attempt = recorded(site)
    reply = site.as_role("ops", "GET", "/api/v1/agents/1001/day?date=2026-03-10")
    assert reply.status == 200, reply.body
    data = reply.json()
    assert data["agent"] == "1001" and data["date"] == "2026-03-10"
    (row,) = data["attempts"]
    assert (row["id"], row["order_id"], row["result"]) == (attempt, ORDER, "answered")
    assert row["recording"].endswith(f"{attempt}.wav")
    other_day = site.as_role("ops", "GET", "/api/v1/agents/1001/day?date=2026-03-09").json()
    assert other_day["attempts"] == []
    today = site.as_role("ops", "GET", "/api/v1/agents/1001/day").json()
    assert [r["id"] for r in today["attempts"]] == [attempt]
    assert site.as_role("ops", "GET", "/api/v1/agents/1002/day").json()["attempts"] == []


@pytest.mark.parametrize("role", ["viewer", "crm"])
def test_an_agents_day_is_refused_to_viewers_and_crm_tokens(site: Site, role: str) -> None:
    assert site.as_role(role, "GET", "/api/v1/agents/1001/day").status == 403


@pytest.mark.parametrize(
    ("query", "field"), [("date=10.03.2026", "date"), ("date=2026-13-01", "date")]
)
def test_an_agents_day_with_a_bad_date_is_400_naming_it(site: Site, query: str, field: str) -> None:
    refusal(site.as_role("ops", "GET", "/api/v1/agents/1001/day?" + query), 400, field)


def test_an_agents_day_with_a_bad_agent_id_is_400(site: Site) -> None:
    refusal(site.as_role("ops", "GET", "/api/v1/agents/%D0%B0%2f..%2f/day"), 400, "id")


def test_the_openapi_document_lists_the_recording_routes(site: Site) -> None:
    paths = site.as_role("ops", "GET", "/api/v1/openapi.json").json()["paths"]
    assert set(paths["/api/v1/calls/{attempt_id}/recording"]) == {"get", "head"}
    assert "get" in paths["/api/v1/agents/{id}/day"]
    day = paths["/api/v1/agents/{id}/day"]["get"]
    assert day["description"] == "Roles: ops; a signed-in supervisor."
