"""The routes RetailCRM's telephony module calls (issue 17 §2), as raw HTTP through the real
twisted.web Site over the real dispatcher and SQLite store.

``makeCallUrl`` and ``changeUserStatusUrl`` carry ``clientId``, ``userId``, ``phone``,
``status`` (free|busy|dinner|break) as GET parameters: help.retailcrm.pro/Developers/
TelephonyApiV4 ("makeCallUrl", "changeUserStatusUrl"); the module's settings that name
them are retailcrm/api-client-php ``src/Model/Entity/Integration/Telephony/
TelephonyConfiguration.php``. ``recordUrl`` (``src/Model/Entity/Telephony/Call.php``) is
the dialer's own signed link.
"""

from __future__ import annotations

import os
import sys
import urllib.parse
from dataclasses import replace
from datetime import time, timedelta
from pathlib import Path

import pytest
from api_harness import Dialer
from http_wire import WireResponse, raw_request
from hypothesis import HealthCheck, given
from hypothesis import settings as fuzz_settings
from hypothesis import strategies as st
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.web.server import Site

sys.path.insert(0, str(Path(__file__).parent.parent / "crm"))

from campaigns.settings import CallingWindow
from crm_adapter.retailcrm_telephony import (
    RetailCrmTelephonySettings,
    TelephonyUser,
    record_signature,
)
from dialer.web import site as web
from dialer.web.retailcrm_telephony import build_telephony

CLIENT = "client-id-of-32-chars-0123456789"
KEY = b"record-key-of-32-chars-012345678"


def settings(recordings: Path) -> RetailCrmTelephonySettings:
    return RetailCrmTelephonySettings(
        code="callback-dialer", public_url="https://dialer.shop.example", client_id=CLIENT,
        record_key=KEY, recordings_dir=recordings,
        users=(TelephonyUser("1001", 12, "101"), TelephonyUser("1002", 13, "102")),
    )  # fmt: skip


class Shop:
    def __init__(self, dialer: Dialer, tmp_path: Path) -> None:
        self.dialer = dialer
        self.recordings = tmp_path / "recordings"
        self.recordings.mkdir()
        tree = build_telephony(settings(self.recordings), dialer.ops, dialer.engine,
                               lambda: dialer.now)  # fmt: skip
        self.site = web.build_site(None, None, lambda _o: 0, lambda: (True, {}),
                                   lambda: dialer.now, extra={b"retailcrm": tree})  # fmt: skip

    def get(self, target: str, headers: dict[bytes, bytes] | None = None,
            method: bytes = b"GET") -> WireResponse:  # fmt: skip
        return exchange(self.site, raw_request(method, target.encode(), headers or {}, b""))

    def make_call(self, **params: str) -> WireResponse:
        query = {"clientId": CLIENT, "code": "102", "userId": "13", **params}
        return self.get("/retailcrm/telephony/make-call?" + urllib.parse.urlencode(query))

    def status(self, **params: str) -> WireResponse:
        query = {"clientId": CLIENT, "userId": "12", **params}
        return self.get("/retailcrm/telephony/user-status?" + urllib.parse.urlencode(query))

    def link(self, name: str, expires_in: int = 3600, *, sig: str | None = None) -> str:
        expires = int(self.dialer.now.timestamp()) + expires_in
        sig = sig or record_signature(KEY, name, expires)
        quoted = urllib.parse.quote(name, safe="")
        return f"/retailcrm/telephony/records/{quoted}?expires={expires}&sig={sig}"


def exchange(site: Site, data: bytes) -> WireResponse:
    """``http_wire.exchange``, pumping a file producer (static.File) to the end."""
    channel = site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
    transport = StringTransport()
    channel.makeConnection(transport)
    channel.dataReceived(data)
    for _ in range(1000):
        producer = transport.producer
        if producer is None:
            break
        producer.resumeProducing()
    raw = transport.value()
    channel.connectionLost(None)
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.split(b"\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(b":")
        headers[name.decode("latin-1").lower()] = value.strip().decode("latin-1")
    if headers.get("transfer-encoding") == "chunked":
        body = _unchunked(body)
    return WireResponse(int(status_line.split()[1]), headers, body)


def _unchunked(body: bytes) -> bytes:
    out = b""
    while body:
        size, _, rest = body.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            break
        out, body = out + rest[:n], rest[n + 2 :]
    return out


@pytest.fixture
def shop(dialer: Dialer, tmp_path: Path) -> Shop:
    return Shop(dialer, tmp_path)


# ---- makeCallUrl ------------------------------------------------------------------------------


def test_a_click_to_call_dials_the_queued_order_through_the_managers_agent(shop: Shop) -> None:
    shop.dialer.admit("A-1", phone="+79165830421", minutes_ago=30)
    shop.dialer.now += timedelta(minutes=1)
    answer = shop.make_call(phone="8 (916) 583-04-21")
    assert (answer.status, answer.json()) == (
        200, {"success": True, "order": "A-1", "agent": "1002"},
    )  # fmt: skip
    shop.dialer.sync.sync(shop.dialer.now)
    shop.dialer.dispatcher.dispatch(shop.dialer.now)
    [first] = shop.dialer.telephony.originated  # agent 1001 is idle too: the click owns it
    assert (first.order_id, first.agent, first.customer_number) == ("A-1", "1002", "+79165830421")


@pytest.mark.parametrize(
    ("params", "status", "names"),
    [
        ({"clientId": "wrong"}, 403, "clientId"),
        ({"clientId": ""}, 403, "clientId"),
        ({"userId": "99"}, 404, "userId: user 99 is not mapped"),
        ({"userId": "13; DROP"}, 400, "userId"),
        ({"phone": "12"}, 400, "phone: not a valid phone number"),
        ({"phone": "+7916583042a"}, 400, "phone"),
        ({"phone": "+79990001122"}, 404, "phone: no order"),
    ],
)
def test_a_bad_click_is_refused_naming_the_parameter(
    shop: Shop, params: dict[str, str], status: int, names: str
) -> None:
    shop.dialer.admit("A-1", phone="+79165830421")
    answer = shop.make_call(**{"phone": "+79165830421", **params})
    assert answer.status == status
    assert answer.json()["success"] is False and names in answer.json()["error"]
    assert shop.dialer.telephony.originated == []


def test_a_click_outside_the_calling_window_is_refused(shop: Shop) -> None:
    shop.dialer.admit("A-1", phone="+79165830421")
    closed = replace(shop.dialer.settings, window=CallingWindow(start=time(3, 0), end=time(4, 0)))
    shop.dialer.dispatcher.use_settings(closed)
    answer = shop.make_call(phone="+79165830421")
    assert answer.status == 409 and "outside the calling window" in answer.json()["error"]


def test_a_click_on_an_order_already_called_is_a_conflict(shop: Shop) -> None:
    shop.dialer.admit("A-1", phone="+79165830421")
    shop.dialer.answer("A-1")
    answer = shop.make_call(phone="+79165830421")
    assert answer.status == 409 and "awaiting_disposition" in answer.json()["error"]


def test_a_repeated_parameter_is_refused(shop: Shop) -> None:
    answer = shop.get(f"/retailcrm/telephony/make-call?clientId={CLIENT}&userId=13&userId=12")
    assert answer.status == 400 and "userId: given 2 times" in answer.json()["error"]


# ---- changeUserStatusUrl ----------------------------------------------------------------------


def test_dinner_pauses_with_its_reason_and_free_resumes(shop: Shop) -> None:
    answer = shop.status(status="dinner")
    assert (answer.status, answer.json()["state"], answer.json()["reason"]) == (
        200,
        "paused",
        "обед",
    )
    assert shop.status(status="break").json()["reason"] == "перерыв"
    assert shop.status(status="busy").json()["reason"] == "техническая пауза"
    answer = shop.status(status="free")
    assert (answer.status, answer.json()["state"], answer.json()["reason"]) == (200, "idle", None)


def test_free_for_a_signed_out_agent_is_a_conflict(shop: Shop) -> None:
    shop.dialer.ops.agent("logout", "1001")
    answer = shop.status(status="free")
    assert answer.status == 409 and "signed out" in answer.json()["error"]


@pytest.mark.parametrize(
    ("params", "status", "names"),
    [
        ({"status": "lunch"}, 400, "status: expected one of free, busy, dinner, break"),
        ({"status": ""}, 400, "status"),
        ({"clientId": CLIENT[:-1]}, 403, "clientId"),
        ({"userId": "99", "status": "free"}, 404, "userId"),
    ],
)
def test_a_bad_status_change_is_refused(
    shop: Shop, params: dict[str, str], status: int, names: str
) -> None:
    answer = shop.status(**params)
    assert answer.status == status and names in answer.json()["error"]


# ---- recordUrl --------------------------------------------------------------------------------


def test_a_signed_link_serves_the_recording_with_ranges(shop: Shop) -> None:
    (shop.recordings / "att-1.wav").write_bytes(b"RIFF0123456789")
    whole = shop.get(shop.link("att-1.wav"))
    assert (whole.status, whole.body) == (200, b"RIFF0123456789")
    assert whole.headers["accept-ranges"] == "bytes"
    part = shop.get(shop.link("att-1.wav"), {b"Range": b"bytes=4-7"})
    assert (part.status, part.body) == (206, b"0123")
    assert part.headers["content-range"] == "bytes 4-7/14"
    head = shop.get(shop.link("att-1.wav"), method=b"HEAD")
    assert head.status == 200 and head.body == b""


def test_an_expired_or_forged_link_is_403(shop: Shop) -> None:
    (shop.recordings / "att-1.wav").write_bytes(b"RIFF")
    expired = shop.get(shop.link("att-1.wav", expires_in=-1))
    assert expired.status == 403 and "expired" in expired.json()["error"]
    forged = shop.get(shop.link("att-1.wav", sig="0" * 64))
    assert forged.status == 403 and "bad signature" in forged.json()["error"]
    other = shop.get(shop.link("att-1.wav").replace("att-1.wav", "att-2.wav", 1))
    assert other.status == 403


@pytest.mark.parametrize(
    "target",
    [
        "/retailcrm/telephony/records/..%2Fsecret.wav",
        "/retailcrm/telephony/records/%2E%2E%2Fsecret.wav",
        "/retailcrm/telephony/records/..%252Fsecret.wav",
        "/retailcrm/telephony/records/../secret.wav",
        "/retailcrm/telephony/records/a/../../secret.wav",
        "/retailcrm/telephony/records/.hidden",
        "/retailcrm/telephony/records/att%00.wav",
    ],
)
def test_no_path_leaves_the_recordings_directory(shop: Shop, target: str) -> None:
    (shop.recordings.parent / "secret.wav").write_bytes(b"SECRET")
    name = urllib.parse.unquote(target.rsplit("/", 1)[1])
    expires = int(shop.dialer.now.timestamp()) + 60
    signed = f"{target}?expires={expires}&sig={record_signature(KEY, name, expires)}"
    answer = shop.get(signed)
    assert answer.status in (403, 404)
    assert b"SECRET" not in answer.body


def test_a_link_to_a_symlink_out_of_the_directory_is_404(shop: Shop) -> None:
    (shop.recordings.parent / "secret.wav").write_bytes(b"SECRET")
    os.symlink(shop.recordings.parent / "secret.wav", shop.recordings / "att-9.wav")
    answer = shop.get(shop.link("att-9.wav"))
    assert answer.status == 404 and b"SECRET" not in answer.body


def test_a_missing_recording_is_404_not_5xx(shop: Shop) -> None:
    answer = shop.get(shop.link("att-404.wav"))
    assert answer.status == 404 and "no such recording" in answer.json()["error"]


def test_a_suffix_range_and_an_unsatisfiable_one(shop: Shop) -> None:
    (shop.recordings / "att-1.wav").write_bytes(b"RIFF0123456789")
    tail = shop.get(shop.link("att-1.wav"), {b"Range": b"bytes=-3"})
    assert (tail.status, tail.body) == (206, b"789")
    beyond = shop.get(shop.link("att-1.wav"), {b"Range": b"bytes=99-"})
    assert beyond.status == 416 and beyond.headers["content-range"] == "bytes */14"


ODD = [
    "%zz", "%ff%fe", "%00", "%C0%AF", "%ED%A0%80", "1" * 5000, "NaN", "-0", "9" * 40, "%",
    "%2e%2e%2f", "..", "+", "%D9%A1%D9%A2", "%EF%BB%BF12", "12%0d%0aX:%20y",
]  # fmt: skip


@fuzz_settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    route=st.sampled_from(["make-call", "user-status", "records/att-1.wav", "records/x", ""]),
    key=st.sampled_from(["clientId", "userId", "phone", "status", "expires", "sig", "code"]),
    value=st.one_of(st.sampled_from(ODD), st.text(max_size=40).map(urllib.parse.quote)),
)
def test_odd_requests_never_make_a_5xx(shop: Shop, route: str, key: str, value: str) -> None:
    (shop.recordings / "att-1.wav").write_bytes(b"RIFF")
    base = {"clientId": CLIENT, "userId": "12", "phone": "+79165830421", "status": "dinner"}
    query = "&".join(f"{k}={urllib.parse.quote(v)}" for k, v in base.items() if k != key)
    answer = shop.get(f"/retailcrm/telephony/{route}?{query}&{key}={value}")
    assert answer.status < 500
    assert answer.headers["content-type"].startswith(("application/json", "audio/"))
