"""RetailCRM's telephony module end to end (issue 17 §2): the real service process over the
real Asterisk with ``kind = "retailcrm"`` and ``[crm.telephony]``, against a RetailCRM double
that serves one order (``GET /api/v5/orders``, ``/orders/{id}``, ``/orders/{id}/edit``) and
checks the telephony requests (``retailcrm_telephony_double``: shapes of api-client-php
``src/Model/Entity/Telephony/CallEvent.php`` and ``Call.php``).

Agent 1001 presses 1; a customer number ending in 21 answers for 2 s
(config/asterisk/README.md).
"""

from __future__ import annotations

import json
import sys
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from asterisk_fixtures import AsteriskInstance
from service_harness import DialerDb, ServiceProcess, get_json, wait_for, write_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "crm"))

from crm_servers import LocalServer
from retailcrm_telephony_double import RetailCrmTelephonyDouble

pytestmark = pytest.mark.asterisk

KEY = "retail-key-telephony-e2e"
CLIENT = "client-id-of-32-chars-0123456789"
RECORD_KEY = "record-key-of-32-chars-012345678"


class RetailShop:
    """One RetailCRM account: its order routes here, its telephony routes in the double."""

    def __init__(self) -> None:
        self.telephony = RetailCrmTelephonyDouble(KEY)
        self.edits: list[str] = []
        created = (datetime.now(UTC) - timedelta(minutes=3)).strftime("%Y-%m-%d %H:%M:%S")
        self.order: dict[str, Any] = {
            "id": 5001, "externalId": "5001", "number": "5001A", "status": "new",
            "createdAt": created, "firstName": "Татьяна", "phone": "+79165830221",
            "items": [], "site": "shop",
        }  # fmt: skip
        self.server = LocalServer(self._handle)

    def _handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        route = urllib.parse.urlsplit(path).path
        if route.startswith(("/api/v5/telephony/", "/api/v5/integration-modules/")):
            return self.telephony._handle(method, path, headers, body)
        if headers.get("x-api-key") != KEY:
            return 401, {}, {"success": False, "errorMsg": "Wrong apiKey"}
        if method == "GET" and route == "/api/v5/orders":
            pages = {"limit": 100, "totalCount": 1, "currentPage": 1, "totalPageCount": 1}
            return 200, {}, {"success": True, "orders": [self.order], "pagination": pages}
        if method == "GET" and route == "/api/v5/orders/5001":
            return 200, {}, {"success": True, "order": self.order}
        if method == "POST" and route == "/api/v5/orders/5001/edit":
            self.edits.append(body.decode())
            return 200, {}, {"success": True, "id": 5001}
        return 404, {}, {"success": False, "errorMsg": "Not found"}


@pytest.fixture
def shop() -> Iterator[RetailShop]:
    s = RetailShop()
    s.server.start()
    yield s
    s.server.stop()


def start(
    asterisk: AsteriskInstance, shop: RetailShop, tmp_path: Path, **campaign: Any
) -> ServiceProcess:
    recordings = asterisk.directory / "spool" / "monitor" / "dialer"  # the dialplan's MixMonitor
    crm = [
        "[crm]", 'kind = "retailcrm"',
        "[crm.retailcrm]", f'url = "{shop.server.url}"', 'api_key_env = "TEST_RETAIL_KEY"',
        'timezone = "UTC"',
        "[crm.telephony]", 'public_url = "https://dialer.shop.example"',
        'client_id_env = "TEST_CLIENT_ID"', 'record_key_env = "TEST_RECORD_KEY"',
        f'recordings_dir = "{recordings}"', 'timezone = "UTC"',
        "[crm.telephony.users]", '1001 = { user_id = 12, code = "101" }',
    ]  # fmt: skip
    auto = "none" if campaign else "confirmed"
    config = write_config(tmp_path, asterisk, None, crm=crm, service={"auto_disposition": auto},
                          campaign={"agents": ["1001"], "intake_statuses": ["new"],
                                    **campaign})  # fmt: skip
    env = {"TEST_RETAIL_KEY": KEY, "TEST_CLIENT_ID": CLIENT, "TEST_RECORD_KEY": RECORD_KEY}
    return ServiceProcess(config, f"sqlite:///{tmp_path / 'dialer.db'}", asterisk, "tel", env=env)


def test_an_accepted_call_pops_the_card_and_is_uploaded(
    asterisk: AsteriskInstance, shop: RetailShop, tmp_path: Path
) -> None:
    service = start(asterisk, shop, tmp_path)
    try:
        base = service.base_url()
        tel = shop.telephony
        wait_for(lambda: tel.calls, 60, service)
        out, hangup = tel.events[0], tel.events[1]
        assert (out["type"], out["userIds"], out["codes"]) == ("out", [12], ["101"])
        assert out["phone"] == "79165830221"
        assert (hangup["type"], hangup["hangupStatus"]) == ("hangup", "answered")
        [call] = tel.calls
        assert (call["result"], call["userId"], call["code"], call["type"]) == (
            "answered", 12, "101", "out",
        )  # fmt: skip
        assert call["externalId"] == out["callExternalId"]
        assert call["duration"] >= 1
        local = call["recordUrl"].replace("https://dialer.shop.example", base)
        assert local.startswith(f"{base}/retailcrm/telephony/records/{call['externalId']}.wav?")
        status, wav = wait_for(lambda: _ok(_get(local)), 20, service)
        assert wav[:4] == b"RIFF"  # the call's own recording, served by the node
        status, body = _get(local.replace("sig=", "sig=00"))
        assert status == 403 and "signature" in body["error"]
        query = urllib.parse.urlencode({"clientId": CLIENT, "userId": "12", "status": "dinner"})
        status, body = _get(f"{base}/retailcrm/telephony/user-status?{query}")
        assert (status, body["state"], body["reason"]) == (200, "paused", "обед")
        status, body = get_json(f"{base}/healthz")
        assert status in (200, 503)
    finally:
        service.stop()


def _ok(answer: tuple[int, Any]) -> tuple[int, Any] | None:
    return answer if answer[0] == 200 else None


def _get(url: str) -> tuple[int, Any]:
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    try:
        with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - a local test URL
            raw = answer.read()
            return answer.status, json.loads(raw) if raw.startswith(b"{") else raw
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_with_disposition_source_crm_the_managers_status_is_the_result(
    asterisk: AsteriskInstance, shop: RetailShop, tmp_path: Path
) -> None:
    """The manager sees the card, sets the order's status in RetailCRM: that is the call's
    result, and nothing is written back (docs/crm.md, "Results from the CRM")."""
    service = start(asterisk, shop, tmp_path, disposition_source="crm", crm_result_read_s=1,
                    crm_confirmed_statuses=["client-confirmed"],
                    crm_refused_statuses=["cancel-other"])  # fmt: skip
    dialer = DialerDb(tmp_path / "dialer.db")
    try:
        service.base_url()
        wait_for(lambda: shop.telephony.calls, 60, service)
        assert dialer.order("5001") == ("awaiting_disposition", None)
        shop.order["status"] = "client-confirmed"  # the manager, in the popped card
        wait_for(lambda: dialer.order("5001") == ("done", "confirmed"), 30, service)
        assert shop.edits == []  # RetailCRM has its own result: nothing is written back
    finally:
        service.stop()
