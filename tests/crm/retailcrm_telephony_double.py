"""A RetailCRM double for the telephony module's three requests (issue 17 §2).

It checks what RetailCRM's official clients send (retailcrm/api-client-php
``src/Model/Entity/Integration/Telephony/TelephonyConfiguration.php``,
``src/Model/Entity/Telephony/CallEvent.php``, ``src/Model/Entity/Telephony/Call.php``;
retailcrm/api-client-python ``retailcrm/versions/v5.py``: a form whose one field holds the
JSON) and answers like the reference: ``{"success": true}``, or 400 ``{"success": false,
"errorMsg": "Errors in the input parameters", "errors": {...}}``, 401 for a wrong key.
``down`` answers 503 (LocalServer), ``limited`` answers 429 with ``Retry-After``.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

from crm_servers import LocalServer

from crm_adapter.retailcrm_telephony import CALL_RESULTS

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
_INVALID = "Errors in the input parameters"


class RetailCrmTelephonyDouble:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.modules: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self.limited = False
        self.server = LocalServer(self._handle)

    @property
    def url(self) -> str:
        return self.server.url

    def _handle(  # noqa: PLR0911 - one answer per route and refusal
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        if headers.get("x-api-key") != self.api_key:
            return 401, {}, {"success": False, "errorMsg": 'Wrong "apiKey" value.'}
        if self.limited:
            return 429, {"Retry-After": "1"}, {"success": False, "errorMsg": "Rate limit"}
        if method != "POST":
            return 405, {}, {"success": False, "errorMsg": "Method not allowed"}
        if headers.get("content-type") != "application/x-www-form-urlencoded":
            return 400, {}, {"success": False, "errorMsg": "form expected"}
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode()).items()}
        route = urllib.parse.urlsplit(path).path
        match = re.fullmatch(r"/api/v5/integration-modules/([^/]+)/edit", route)
        if match:
            return self._module(urllib.parse.unquote(match.group(1)), form)
        if route == "/api/v5/telephony/call/event":
            return self._event(form)
        if route == "/api/v5/telephony/calls/upload":
            return self._upload(form)
        return 404, {}, {"success": False, "errorMsg": "API method not found"}

    def _module(  # noqa: PLR0912 - one check per field, as RetailCRM lists them
        self, code: str, form: dict[str, str]
    ) -> tuple[int, dict[str, str], Any]:
        module = _json(form.get("integrationModule"))
        errors: dict[str, str] = {}
        if not isinstance(module, dict):
            return _invalid({"integrationModule": "must be an object"})
        for key in ("code", "integrationCode", "name", "clientId", "baseUrl"):
            if not isinstance(module.get(key), str) or not module.get(key):
                errors[key] = "This value should not be blank."
        if module.get("code") != code:
            errors["code"] = "must equal the code in the URL"
        tel = (module.get("integrations") or {}).get("telephony")
        if not isinstance(tel, dict):
            errors["integrations.telephony"] = "required"
        else:
            for key in ("makeCallUrl", "changeUserStatusUrl"):
                if not str(tel.get(key, "")).startswith(("http://", "https://")):
                    errors[f"integrations.telephony.{key}"] = "must be a URL"
            for key in ("allowEdit", "inputEventSupported", "outputEventSupported",
                        "hangupEventSupported"):  # fmt: skip
                if not isinstance(tel.get(key), bool):
                    errors[f"integrations.telephony.{key}"] = "must be a boolean"
            for i, c in enumerate(tel.get("additionalCodes") or []):
                if not isinstance(c.get("userId"), int) or not isinstance(c.get("code"), str):
                    errors[f"integrations.telephony.additionalCodes[{i}]"] = "userId, code"
        if errors:
            return _invalid(errors)
        self.modules[code] = module
        return 200, {}, {"success": True}

    def _event(self, form: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        event = _json(form.get("event"))
        if not isinstance(event, dict):
            return _invalid({"event": "must be an object"})
        errors: dict[str, str] = {}
        if not isinstance(event.get("phone"), str) or not event["phone"]:
            errors["phone"] = "This value should not be blank."
        if event.get("type") not in ("in", "out", "hangup"):
            errors["type"] = "in, out or hangup"
        codes, users = event.get("codes"), event.get("userIds")
        if not (isinstance(codes, list) and codes) and not (isinstance(users, list) and users):
            errors["codes"] = "codes or userIds required"
        if users is not None and not all(isinstance(u, int) for u in users):
            errors["userIds"] = "integers"
        if errors:
            return _invalid(errors)
        self.events.append(event)
        return 200, {}, {"success": True}

    def _upload(self, form: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        calls = _json(form.get("calls"))
        if not isinstance(calls, list) or not calls:
            return _invalid({"calls": "must be a non-empty list"})
        errors: dict[str, str] = {}
        for i, call in enumerate(calls):
            if not isinstance(call, dict):
                errors[f"calls[{i}]"] = "an object"
                continue
            if not _DATE.match(str(call.get("date"))):
                errors[f"calls[{i}].date"] = "Y-m-d H:i:s"
            if call.get("type") not in ("in", "out"):
                errors[f"calls[{i}].type"] = "in or out"
            if call.get("result") not in CALL_RESULTS:
                errors[f"calls[{i}].result"] = "unknown result"
            if not isinstance(call.get("duration"), int):
                errors[f"calls[{i}].duration"] = "integer seconds"
            if not isinstance(call.get("userId"), int):
                errors[f"calls[{i}].userId"] = "integer"
        if errors:
            return _invalid(errors)
        self.calls.extend(calls)
        return 200, {}, {"success": True}


def _json(text: str | None) -> Any:
    try:
        return json.loads(text or "")
    except ValueError:
        return None


def _invalid(errors: dict[str, str]) -> tuple[int, dict[str, str], Any]:
    return 400, {}, {"success": False, "errorMsg": _INVALID, "errors": errors}
