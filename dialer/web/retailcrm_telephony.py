"""The routes RetailCRM's telephony module calls (issue 17 §2), under ``/retailcrm/telephony``:

* ``GET make-call?clientId=&code=&phone=&userId=&externalPhone=`` — a manager clicked a
  number (``makeCallUrl``): the campaign's queued order for that number is offered to that
  manager's agent first, agent-first as every call (``Operations.call_now``);
* ``GET user-status?clientId=&userId=&status=`` — a manager changed status
  (``changeUserStatusUrl``): ``free`` resumes the agent, ``busy``/``dinner``/``break`` pause
  the agent with the configured reason (техническая пауза, обед, перерыв);
* ``GET|HEAD records/<name>?expires=&sig=`` — the recording of an uploaded call
  (``recordUrl``): only with a valid, unexpired signature, only a plain file name in the
  recordings directory, with HTTP range requests.

``clientId`` is compared in constant time with ``[crm.telephony] client_id``. Every answer
is JSON except a recording: 200 ``{"success": true, ...}``, or 400/403/404/409 ``{"success":
false, "error": "<what is wrong, naming the parameter>"}``; 503 while the database is down.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from twisted.web.resource import Resource

from campaigns.phones import normalise_phone
from crm_adapter.retailcrm_telephony import (
    USER_STATUSES,
    RetailCrmTelephonySettings,
    TelephonyUser,
    record_link_valid,
)
from dialer.app.operations import ConflictError, NotFoundError, OperationError, Operations
from dialer.recordings.files import SAFE_NAME, inside
from dialer.storage.engine import Database
from dialer.storage.errors import DatabaseUnavailableError
from dialer.storage.telephony_queue import orders_by_e164
from dialer.web.recordings import RangeNotSatisfiable, Slice

log = logging.getLogger("dialer.web")
_BAD, _FORBIDDEN, _NOT_FOUND, _CONFLICT, _UNAVAILABLE = 400, 403, 404, 409, 503
_PARTIAL, _UNSATISFIABLE, _INTERNAL = 206, 416, 500


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Json(Resource):
    """A leaf answering JSON; subclasses implement ``answer(request) -> dict``."""

    isLeaf = True

    def __init__(self, settings: RetailCrmTelephonySettings) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._s = settings

    def render_GET(self, request: Any) -> bytes:
        request.setHeader(b"content-type", b"application/json; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        try:
            if request.postpath not in ([], [b""]):
                raise _Refused(_NOT_FOUND, "no such path")
            params = _params(request)
            self._check_client(params)
            data = self.answer(params)
        except _Refused as exc:
            request.setResponseCode(exc.status)
            return _json({"success": False, "error": str(exc)})
        except DatabaseUnavailableError:
            request.setResponseCode(_UNAVAILABLE)
            return _json({"success": False, "error": "database unavailable; try again"})
        except Exception:  # a bug: a JSON 500 for RetailCRM, the traceback in the log
            log.exception("RetailCRM telephony: %s failed", request.path)
            request.setResponseCode(_INTERNAL)
            return _json({"success": False, "error": "internal error; see the service log"})
        return _json({"success": True, **data})

    def answer(self, params: Mapping[str, str]) -> dict[str, Any]:
        raise NotImplementedError

    def _check_client(self, params: Mapping[str, str]) -> None:
        given = params.get("clientId", "").encode("utf-8")
        if not hmac.compare_digest(given, self._s.client_id.encode("utf-8")):
            raise _Refused(_FORBIDDEN, "clientId: missing or wrong")

    def _user(self, params: Mapping[str, str]) -> TelephonyUser:
        raw = params.get("userId", "")
        if not raw.isdigit() or len(raw) > 18:  # noqa: PLR2004
            raise _Refused(_BAD, "userId: expected RetailCRM's user id (digits)")
        user = self._s.agent_of(int(raw))
        if user is None:
            raise _Refused(_NOT_FOUND, f"userId: user {raw} is not mapped to an agent "
                                       "in crm.telephony.users")  # fmt: skip
        return user


class MakeCall(_Json):
    """``makeCallUrl``: the queued order for ``phone`` is called now, agent-first, by the
    manager's agent (the calling window still applies)."""

    def __init__(
        self, settings: RetailCrmTelephonySettings, ops: Operations, engine: Database
    ) -> None:
        super().__init__(settings)
        self._ops, self._engine = ops, engine

    def answer(self, params: Mapping[str, str]) -> dict[str, Any]:
        user = self._user(params)
        phone = params.get("phone", "")
        e164 = normalise_phone(phone) if len(phone) <= 40 else None  # noqa: PLR2004
        if e164 is None:
            raise _Refused(_BAD, "phone: not a valid phone number")
        orders = orders_by_e164(self._engine, self._ops.campaign, e164)
        queued = [order_id for order_id, phase in orders if phase == "queued"]
        if not queued:
            if orders:
                order_id, phase = orders[-1]
                raise _Refused(_CONFLICT, f"phone: order {order_id} of this number is {phase}; "
                                          "the dialer calls queued orders only")  # fmt: skip
            raise _Refused(_NOT_FOUND, "phone: no order of campaign "
                                       f"{self._ops.campaign!r} has this number")  # fmt: skip
        try:
            self._ops.call_now(queued[0], user.agent_id)
        except ConflictError as exc:
            raise _Refused(_CONFLICT, str(exc)) from exc
        except NotFoundError as exc:
            raise _Refused(_NOT_FOUND, str(exc)) from exc
        return {"order": queued[0], "agent": user.agent_id}


class UserStatus(_Json):
    """``changeUserStatusUrl``: free → ready (resumed); busy, dinner, break → paused."""

    def __init__(self, settings: RetailCrmTelephonySettings, ops: Operations) -> None:
        super().__init__(settings)
        self._ops = ops

    def answer(self, params: Mapping[str, str]) -> dict[str, Any]:
        user = self._user(params)
        status = params.get("status", "")
        if status not in USER_STATUSES:
            raise _Refused(_BAD, f"status: expected one of {', '.join(USER_STATUSES)}")
        try:
            if status == "free":
                change = self._ops.agent("resume", user.agent_id)
            else:
                change = self._ops.agent("pause", user.agent_id, self._s.pauses[status])
        except NotFoundError as exc:
            raise _Refused(_NOT_FOUND, f"userId: {exc}") from exc
        except OperationError as exc:
            raise _Refused(_CONFLICT, str(exc)) from exc
        after = change.after
        if status == "free" and after.state.value == "logged_out":
            raise _Refused(_CONFLICT, f"agent {user.agent_id} is signed out of the dialer; "
                                      "sign in on the agent page first")  # fmt: skip
        return {"agent": user.agent_id, "state": after.state.value, "reason": after.paused_reason}


class Records(Resource):
    """``recordUrl``: a recording, only with a valid unexpired signature."""

    isLeaf = True

    def __init__(self, settings: RetailCrmTelephonySettings, clock: Callable[[], datetime]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._s, self._clock = settings, clock

    def render_GET(self, request: Any) -> Any:
        try:
            part = Slice.of(self._file(request), _header(request, b"range"))
        except _Refused as exc:
            request.setHeader(b"content-type", b"application/json; charset=utf-8")
            request.setResponseCode(exc.status)
            return _json({"success": False, "error": str(exc)})
        except RangeNotSatisfiable as exc:
            request.setHeader(b"content-type", b"application/json; charset=utf-8")
            request.setResponseCode(_UNSATISFIABLE)
            request.setHeader(b"content-range", f"bytes */{exc.size}".encode())
            return _json({"success": False, "error": str(exc)})
        except OSError:
            request.setHeader(b"content-type", b"application/json; charset=utf-8")
            request.setResponseCode(_NOT_FOUND)
            return _json({"success": False, "error": "no such recording (deleted meanwhile)"})
        for name, value in part.headers().items():
            request.setHeader(name.encode(), value.encode())
        request.setHeader(b"cache-control", b"private, no-store")
        if part.partial:
            request.setResponseCode(_PARTIAL)
        return part.send(request)

    render_HEAD = render_GET

    def _file(self, request: Any) -> Path:
        segments = request.postpath
        if len(segments) != 1:
            raise _Refused(_NOT_FOUND, "no such recording")
        try:
            name = segments[0].decode("utf-8")
        except UnicodeDecodeError:
            raise _Refused(_NOT_FOUND, "no such recording") from None
        if not SAFE_NAME.fullmatch(name) or ".." in name:
            raise _Refused(_NOT_FOUND, "no such recording")
        params = _params(request)
        why = record_link_valid(self._s.record_key, name, params.get("expires", ""),
                                params.get("sig", ""), self._clock())  # fmt: skip
        if why is not None:
            raise _Refused(_FORBIDDEN, f"recording link refused: {why}")
        path = inside(self._s.recordings_dir, name)
        if path is None:
            raise _Refused(_NOT_FOUND, "no such recording (deleted, or not written yet)")
        return path


def _header(request: Any, name: bytes) -> str | None:
    value = request.getHeader(name)
    return None if value is None else value.decode("latin-1")


class _NotFound(Resource):
    isLeaf = True

    def render(self, request: Any) -> bytes:
        request.setResponseCode(_NOT_FOUND)
        request.setHeader(b"content-type", b"application/json; charset=utf-8")
        return _json({"success": False, "error": "no such path"})


class _Dir(Resource):
    def getChild(self, path: bytes, request: Any) -> Resource:
        del path, request
        return _NotFound()  # type: ignore[no-untyped-call]


def build_telephony(
    settings: RetailCrmTelephonySettings, ops: Operations, engine: Database,
    clock: Callable[[], datetime],
) -> Resource:  # fmt: skip
    """``/retailcrm``: its ``telephony`` children."""
    telephony = _Dir()  # type: ignore[no-untyped-call]
    children: dict[bytes, Any] = {
        b"make-call": MakeCall(settings, ops, engine),
        b"user-status": UserStatus(settings, ops),
        b"records": Records(settings, clock),
    }
    for name, child in children.items():
        telephony.putChild(name, child)
    root = _Dir()  # type: ignore[no-untyped-call]
    branch: Any = telephony
    root.putChild(b"telephony", branch)
    return root


def _params(request: Any) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, values in (request.args or {}).items():
        try:
            name = key.decode("utf-8")
            if len(values) != 1:
                raise _Refused(_BAD, f"{name}: given {len(values)} times")
            params[name] = values[0].decode("utf-8")
        except UnicodeDecodeError:
            raise _Refused(_BAD, "query parameters must be UTF-8") from None
    return params


def _json(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")
