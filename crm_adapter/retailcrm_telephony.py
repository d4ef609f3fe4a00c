"""RetailCRM's telephony module (issue 17 §2): the dialer registered as the shop's telephony.

Request shapes, as RetailCRM's official clients send them (read, not copied):

* ``POST /api/v5/integration-modules/{code}/edit``, a form with ``integrationModule`` =
  the JSON of ``{code, integrationCode, active, name, clientId, baseUrl, integrations:
  {telephony: {makeCallUrl, changeUserStatusUrl, allowEdit, inputEventSupported,
  outputEventSupported, hangupEventSupported, additionalCodes: [{userId, code}],
  externalPhones: [{siteCode, externalPhone}]}}}`` (retailcrm/api-client-python
  ``retailcrm/versions/v5.py`` ``integration_module_edit``; the telephony keys are
  retailcrm/api-client-php ``src/Model/Entity/Integration/Telephony/TelephonyConfiguration.php``
  and ``SerializedAdditionalCodes.php``);
* ``POST /api/v5/telephony/call/event``, a form with ``event`` = the JSON of ``{phone, type
  (in|out|hangup), codes: [...], userIds: [...], hangupStatus, externalPhone,
  callExternalId, webAnalyticsData}`` (api-client-php ``src/Model/Entity/Telephony/
  CallEvent.php``; api-client-python ``telephony_call_event``);
* ``POST /api/v5/telephony/calls/upload``, a form with ``calls`` = the JSON list of ``{date
  ("Y-m-d H:i:s"), type, phone, code, userId, result, duration, externalId, recordUrl,
  externalPhone}`` (api-client-php ``src/Model/Entity/Telephony/Call.php``; python
  ``telephony_calls_upload``); ``result`` is one of answered, busy, failed, no answered,
  not allowed, unknown;
* every request carries ``X-API-KEY`` (the ``[crm.retailcrm]`` key); the telephony
  routes allow 40 requests/s per key; 429/503 are retried later, 400/404 are final.

RetailCRM then calls the dialer: ``makeCallUrl`` (GET ``clientId``, ``code``, ``phone``,
``userId``, ``externalPhone``…) when a manager clicks a number, ``changeUserStatusUrl``
(GET ``clientId``, ``userId``, ``status`` free|busy|dinner|break) when a manager changes
status (help.retailcrm.pro, "Telephony API"). Those routes live in
``dialer/web/retailcrm_telephony.py``; this module holds the settings, the client, the
event and upload bodies, and the record links' signatures (pure functions of their inputs).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytz

from crm_adapter.errors import (
    CrmConfigError,
    CrmDataError,
    CrmRateLimitedError,
    CrmRejectedError,
    CrmUnavailableError,
    FinalRejectionError,
)
from crm_adapter.transport import HttpAnswer, HttpTransport, is_server_error

TELEPHONY_RATE_PER_S = 40.0
CALL_RESULTS = ("answered", "busy", "failed", "no answered", "not allowed", "unknown")
USER_STATUSES = ("free", "busy", "dinner", "break")
_OK_MAX, _BAD_REQUEST, _NOT_FOUND, _TOO_MANY = 299, 400, 404, 429
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_MIN_KEY_BYTES = 16


@dataclass(frozen=True, slots=True)
class TelephonyUser:
    """One dialer agent as RetailCRM knows them: the user's id and extension code."""

    agent_id: str
    user_id: int
    code: str


@dataclass(frozen=True, slots=True)
class RetailCrmTelephonySettings:
    """``[crm.telephony]``: the module's code, the dialer's public URL, the agents' users,
    the client id RetailCRM sends back, the record-link key and lifetime."""

    code: str
    public_url: str
    client_id: str = field(repr=False)
    record_key: bytes = field(repr=False)
    users: tuple[TelephonyUser, ...]
    recordings_dir: Path
    name: str = "Callback dialer"
    link_ttl_s: int = 30 * 86400
    external_phone: str | None = None
    timezone: str = "Europe/Moscow"
    site: str | None = None  # [crm.retailcrm] site: the shop the calls belong to
    pauses: Mapping[str, str] = field(
        default_factory=lambda: {
            "busy": "техническая пауза",
            "dinner": "обед",
            "break": "перерыв",
        }
    )

    def user_of(self, agent_id: str) -> TelephonyUser | None:
        return next((u for u in self.users if u.agent_id == agent_id), None)

    def agent_of(self, user_id: int) -> TelephonyUser | None:
        return next((u for u in self.users if u.user_id == user_id), None)

    @property
    def make_call_url(self) -> str:
        return f"{self.public_url}/retailcrm/telephony/make-call"

    @property
    def change_status_url(self) -> str:
        return f"{self.public_url}/retailcrm/telephony/user-status"


def parse_telephony(
    table: Any, environ: Mapping[str, str], *, base: Path = Path()
) -> RetailCrmTelephonySettings | None:
    """``[crm.telephony]`` as TOML gave it; None when absent or ``enabled = false``. Every
    error is a ``CrmConfigError`` naming the key, e.g. ``crm.telephony.users.a1.user_id``."""
    from crm_adapter.config import _Section  # noqa: PLC0415 - the [crm] reader's helpers

    if table is None:
        return None
    s = _Section(table, "crm.telephony", environ, base)
    enabled = s._get("enabled", True)
    if not isinstance(enabled, bool):
        raise CrmConfigError("crm.telephony.enabled: expected true or false")
    if not enabled:
        return None
    code = s.text("code", "callback-dialer")
    if not all(c.isalnum() or c in "-_" for c in code):
        raise CrmConfigError("crm.telephony.code: letters, digits, - and _ only")
    public_url = s.url("public_url").rstrip("/")
    if not public_url.startswith("https://") and not s._get("allow_http", False):
        raise CrmConfigError("crm.telephony.public_url: RetailCRM calls it over the Internet; "
                             "use https:// (allow_http = true only for a test)")  # fmt: skip
    client_id = s.secret("client_id")
    if len(client_id) < _MIN_KEY_BYTES:
        raise CrmConfigError(f"crm.telephony.client_id: at least {_MIN_KEY_BYTES} characters")
    record_key = s.secret("record_key").encode("utf-8")
    if len(record_key) < _MIN_KEY_BYTES:
        raise CrmConfigError(f"crm.telephony.record_key: at least {_MIN_KEY_BYTES} bytes")
    ttl = s.integer("link_ttl_s", 30 * 86400)
    if not 60 <= ttl <= 366 * 86400:  # noqa: PLR2004
        raise CrmConfigError("crm.telephony.link_ttl_s: between 60 s and 366 days")
    recordings = s.text("recordings_dir", "/var/spool/asterisk/monitor/dialer")
    timezone = s.text("timezone", "Europe/Moscow")
    if timezone not in pytz.all_timezones_set:
        raise CrmConfigError(f"crm.telephony.timezone: unknown time zone {timezone!r}")
    settings = RetailCrmTelephonySettings(
        code=code, public_url=public_url, client_id=client_id, record_key=record_key,
        users=_users(s.table("users")), recordings_dir=base / Path(recordings).expanduser(),
        name=s.text("name", "Callback dialer"), link_ttl_s=ttl,
        external_phone=s.optional_text("external_phone", None), timezone=timezone,
        pauses=_pauses(s.table("pauses")),
    )  # fmt: skip
    s.done()
    return settings


def _users(s: Any) -> tuple[TelephonyUser, ...]:
    users: list[TelephonyUser] = []
    for agent_id in s.names():
        entry = s.table(agent_id)
        user_id = entry.integer("user_id", 0)
        if user_id <= 0:
            raise CrmConfigError(f"{entry.where}.user_id: required, RetailCRM's user id (> 0)")
        code = entry.text("code")
        if not code.isdigit():
            raise CrmConfigError(f"{entry.where}.code: the extension code, digits only")
        entry.done()
        users.append(TelephonyUser(agent_id, user_id, code))
    if not users:
        raise CrmConfigError("crm.telephony.users: map at least one agent, "
                             "e.g. a1 = { user_id = 12, code = \"101\" }")  # fmt: skip
    for attr in ("user_id", "code"):
        seen = [getattr(u, attr) for u in users]
        twice = next((v for v in seen if seen.count(v) > 1), None)
        if twice is not None:
            raise CrmConfigError(f"crm.telephony.users: {attr} {twice!r} is mapped twice")
    return tuple(users)


def _pauses(s: Any) -> dict[str, str]:
    pauses = {"busy": "техническая пауза", "dinner": "обед", "break": "перерыв"}
    for status in s.names():
        if status not in pauses:
            raise CrmConfigError(f"{s.where}.{status}: not a pause status "
                                 "(busy, dinner, break)")  # fmt: skip
        pauses[status] = s.text(status)
    s.done()
    return pauses


# ---- request bodies (pure) ------------------------------------------------------------------


def module_body(s: RetailCrmTelephonySettings) -> dict[str, Any]:
    """The ``integrationModule`` of ``integration-modules/{code}/edit``."""
    telephony: dict[str, Any] = {
        "makeCallUrl": s.make_call_url,
        "changeUserStatusUrl": s.change_status_url,
        "allowEdit": False,
        "inputEventSupported": False,
        "outputEventSupported": True,
        "hangupEventSupported": True,
        "additionalCodes": [{"userId": u.user_id, "code": u.code} for u in s.users],
    }
    if s.external_phone:
        telephony["externalPhones"] = [{"siteCode": "", "externalPhone": s.external_phone}]
    return {
        "code": s.code,
        "integrationCode": s.code,
        "active": True,
        "name": s.name,
        "clientId": s.client_id,
        "baseUrl": s.public_url,
        "integrations": {"telephony": telephony},
    }


def call_event(
    s: RetailCrmTelephonySettings,
    agent_id: str,
    phone: str,
    kind: str,
    attempt_id: str,
    *,
    hangup_status: str | None = None,
) -> dict[str, Any]:
    """The ``event`` of ``telephony/call/event``: ``kind`` "out" when the agent accepted
    (RetailCRM shows the manager the customer's card), "hangup" at the end."""
    user = s.user_of(agent_id)
    if user is None:
        raise CrmDataError(f"agent {agent_id!r} is not in crm.telephony.users")
    event: dict[str, Any] = {
        "phone": phone,
        "type": kind,
        "codes": [user.code],
        "userIds": [user.user_id],
        "callExternalId": attempt_id,
    }
    if hangup_status is not None:
        event["hangupStatus"] = hangup_status
    if s.site:
        event["site"] = s.site
    if s.external_phone:
        event["externalPhone"] = s.external_phone
    return event


@dataclass(frozen=True, slots=True)
class FinishedCall:
    """One call as ``telephony/calls/upload`` records it."""

    attempt_id: str
    agent_id: str
    phone: str
    started_at: datetime
    result: str
    duration_s: int
    recording: str | None = None

    def __post_init__(self) -> None:
        if self.result not in CALL_RESULTS:
            raise ValueError(f"result {self.result!r} is not one of {', '.join(CALL_RESULTS)}")


def upload_body(
    s: RetailCrmTelephonySettings, call: FinishedCall, *, now: datetime
) -> dict[str, Any]:
    """One entry of ``calls`` for ``telephony/calls/upload``; ``recordUrl`` is a signed
    link valid ``link_ttl_s`` from ``now`` when the call has a recording."""
    user = s.user_of(call.agent_id)
    if user is None:
        raise CrmDataError(f"agent {call.agent_id!r} is not in crm.telephony.users")
    zone = pytz.timezone(s.timezone)
    entry: dict[str, Any] = {
        "date": call.started_at.astimezone(zone).strftime(_TIME_FORMAT),
        "type": "out",
        "phone": call.phone,
        "code": user.code,
        "userId": user.user_id,
        "result": call.result,
        "duration": max(0, call.duration_s),
        "externalId": call.attempt_id,
    }
    if call.recording:
        expires = int(now.timestamp()) + s.link_ttl_s
        entry["recordUrl"] = record_url(s, Path(call.recording).name, expires)
    if s.site:
        entry["site"] = s.site
    if s.external_phone:
        entry["externalPhone"] = s.external_phone
    return entry


# ---- record links (pure) --------------------------------------------------------------------


def record_signature(key: bytes, name: str, expires: int) -> str:
    """HMAC-SHA256 of ``name`` and ``expires`` (Unix seconds), lower-case hex."""
    message = f"{name}\n{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def record_url(s: RetailCrmTelephonySettings, name: str, expires: int) -> str:
    query = urllib.parse.urlencode(
        {"expires": expires, "sig": record_signature(s.record_key, name, expires)}
    )
    return f"{s.public_url}/retailcrm/telephony/records/{urllib.parse.quote(name, safe='')}?{query}"


def record_link_valid(key: bytes, name: str, expires: str, sig: str, now: datetime) -> str | None:
    """None when the link is good, else why not ("expired", "bad signature", …)."""
    if not expires.isdigit() or len(expires) > 12:  # noqa: PLR2004
        return "expires: expected Unix seconds"
    if int(expires) < now.timestamp():
        return "the link has expired"
    expected = record_signature(key, name, int(expires))
    if not hmac.compare_digest(expected.encode(), sig.lower().encode("utf-8", "replace")):
        return "bad signature"
    return None


# ---- the client -----------------------------------------------------------------------------


class SharedBucket:
    """A token bucket shared by threads (RetailCRM's telephony limit: 40 requests/s per key)."""

    def __init__(
        self, rate: float, *, clock: Callable[[], float], sleep: Callable[[float], None]
    ) -> None:
        self._rate, self._clock, self._sleep = rate, clock, sleep
        self._tokens, self._last = rate, clock()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            self._tokens = min(self._rate, self._tokens + (now - self._last) * self._rate)
            self._last = now
            if self._tokens < 1:
                self._sleep((1 - self._tokens) / self._rate)
                self._tokens, self._last = 1.0, self._clock()
            self._tokens -= 1


class RetailCrmTelephonyClient:
    """The three telephony requests; raises only ``CrmError`` subclasses: 400/404 and
    other 4xx are ``FinalRejectionError`` (permanent), 429 ``CrmRateLimitedError``, 5xx
    and network failures ``CrmUnavailableError`` (retried by the queue)."""

    def __init__(
        self, url: str, api_key: str, *, bucket: SharedBucket,
        transport: HttpTransport | None = None,
    ) -> None:  # fmt: skip
        self._base = url.rstrip("/") + "/api/v5"
        self._key = api_key
        self._bucket = bucket
        self._http = transport or HttpTransport(timeout_s=10.0)

    def register(self, s: RetailCrmTelephonySettings) -> dict[str, Any]:
        body = module_body(s)
        form = {"integrationModule": json.dumps(body, ensure_ascii=False)}
        path = f"/integration-modules/{urllib.parse.quote(s.code, safe='')}/edit"
        self._post(path, form, "integration module registration")
        return body

    def send_event(self, event: Mapping[str, Any]) -> None:
        form = {"event": json.dumps(dict(event), ensure_ascii=False)}
        self._post("/telephony/call/event", form, f"call event {event.get('callExternalId')}")

    def upload(self, calls: list[dict[str, Any]]) -> None:
        form = {"calls": json.dumps(calls, ensure_ascii=False)}
        what = "calls upload " + ",".join(str(c.get("externalId")) for c in calls)
        self._post("/telephony/calls/upload", form, what)

    def _post(self, path: str, form: Mapping[str, str], what: str) -> dict[str, Any]:
        self._bucket.acquire()
        headers = {
            "X-API-KEY": self._key,
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        body = urllib.parse.urlencode(form).encode()
        answer = self._http.request("POST", self._base + path, headers=headers, body=body)
        return _checked(answer, what)


def _checked(answer: HttpAnswer, what: str) -> dict[str, Any]:
    if answer.status == _TOO_MANY:
        raise CrmRateLimitedError(f"{what}: HTTP 429", _retry_after(answer))
    if is_server_error(answer.status):
        raise CrmUnavailableError(f"{what}: HTTP {answer.status}")
    try:
        data = answer.json(what)
    except CrmDataError:
        if answer.status <= _OK_MAX:
            raise
        data = {}
    if not isinstance(data, dict):
        raise CrmDataError(f"{what}: the answer is not a JSON object")
    if answer.status <= _OK_MAX and data.get("success") is True:
        return data
    errors = data.get("errors")
    message = f"{what}: HTTP {answer.status} {data.get('errorMsg', '')} {errors or ''}".strip()
    if answer.status >= _BAD_REQUEST:
        raise FinalRejectionError(message, answer.status)
    raise CrmRejectedError(message, answer.status)


def _retry_after(answer: HttpAnswer) -> float | None:
    value = answer.header("Retry-After")
    try:
        return None if value is None else max(0.0, float(value))
    except ValueError:
        return None
