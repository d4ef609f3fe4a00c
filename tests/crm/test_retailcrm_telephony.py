"""RetailCRM's telephony module (issue 17 §2): config, registration, events, uploads.

Request shapes are checked by ``retailcrm_telephony_double.RetailCrmTelephonyDouble``
against what RetailCRM's official clients send: retailcrm/api-client-php
``src/Model/Entity/Integration/Telephony/TelephonyConfiguration.php`` and
``SerializedAdditionalCodes.php`` (the module), ``src/Model/Entity/Telephony/CallEvent.php``
(the event), ``src/Model/Entity/Telephony/Call.php`` (an uploaded call, ``date`` as
``Y-m-d H:i:s``); retailcrm/api-client-python ``retailcrm/versions/v5.py``
(``integration_module_edit``, ``telephony_call_event``, ``telephony_calls_upload``: one form
field holding the JSON).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from crm_servers import API_KEY
from retailcrm_telephony_double import RetailCrmTelephonyDouble

from crm_adapter.errors import CrmConfigError, CrmPermanentError, CrmUnavailableError
from crm_adapter.retailcrm_telephony import (
    FinishedCall,
    RetailCrmTelephonyClient,
    RetailCrmTelephonySettings,
    SharedBucket,
    call_event,
    parse_telephony,
    record_link_valid,
    upload_body,
)
from dialer.cli import main
from dialer.config.service import ConfigError, load_service_config

CLIENT_ID = "client-id-of-32-chars-0123456789"
RECORD_KEY = "record-key-of-32-chars-012345678"
ENV = {"TEL_CLIENT_ID": CLIENT_ID, "TEL_RECORD_KEY": RECORD_KEY}
NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


def table(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "code": "callback-dialer",
        "public_url": "https://dialer.shop.example",
        "client_id_env": "TEL_CLIENT_ID",
        "record_key_env": "TEL_RECORD_KEY",
        "users": {"a1": {"user_id": 12, "code": "101"}, "a2": {"user_id": 13, "code": "102"}},
    }
    base.update(extra)
    return base


def settings(**extra: Any) -> RetailCrmTelephonySettings:
    parsed = parse_telephony(table(**extra), ENV)
    assert parsed is not None
    return parsed


@pytest.fixture
def tel_crm() -> Iterator[RetailCrmTelephonyDouble]:
    crm = RetailCrmTelephonyDouble(API_KEY)
    crm.server.start()
    yield crm
    crm.server.stop()


def client(crm: RetailCrmTelephonyDouble, key: str = API_KEY) -> RetailCrmTelephonyClient:
    bucket = SharedBucket(40.0, clock=lambda: 0.0, sleep=lambda _s: None)
    return RetailCrmTelephonyClient(crm.url, key, bucket=bucket)


# ---- configuration ---------------------------------------------------------------------------


def test_config_maps_agents_to_users_and_codes() -> None:
    s = settings()
    assert [(u.agent_id, u.user_id, u.code) for u in s.users] == [
        ("a1", 12, "101"), ("a2", 13, "102"),
    ]  # fmt: skip
    assert s.make_call_url == "https://dialer.shop.example/retailcrm/telephony/make-call"
    assert s.record_key == RECORD_KEY.encode()
    assert CLIENT_ID not in repr(s) and RECORD_KEY not in repr(s)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"users": {}}, "crm.telephony.users"),
        ({"users": {"a1": {"user_id": "12", "code": "101"}}}, "crm.telephony.users.a1.user_id"),
        ({"users": {"a1": {"user_id": 12, "code": "10a"}}}, "crm.telephony.users.a1.code"),
        ({"users": {"a1": {"user_id": 12, "code": "101"}, "a2": {"user_id": 12, "code": "2"}}},
         "user_id 12 is mapped twice"),
        ({"public_url": "http://dialer.example"}, "crm.telephony.public_url"),
        ({"client_id": "literal"}, "crm.telephony.client_id"),
        ({"record_key_env": "UNSET_VARIABLE"}, "crm.telephony.record_key_env"),
        ({"link_ttl_s": 5}, "crm.telephony.link_ttl_s"),
        ({"pauses": {"lunch": "обед"}}, "crm.telephony.pauses.lunch"),
        ({"colour": "red"}, "crm.telephony.colour"),
    ],
)  # fmt: skip
def test_a_bad_config_is_refused_naming_the_key(change: dict[str, Any], named: str) -> None:
    with pytest.raises(CrmConfigError, match=named.replace(".", r"\.")):
        parse_telephony(table(**change), ENV)


def test_enabled_false_turns_the_module_off() -> None:
    assert parse_telephony(table(enabled=False), ENV) is None
    assert parse_telephony(None, ENV) is None


# ---- registration ----------------------------------------------------------------------------


def test_register_sends_the_module_with_users_and_codes(tel_crm: RetailCrmTelephonyDouble) -> None:
    client(tel_crm).register(settings(external_phone="74951234567"))
    module = tel_crm.modules["callback-dialer"]
    tel = module["integrations"]["telephony"]
    assert module["clientId"] == CLIENT_ID and module["active"] is True
    assert tel["makeCallUrl"] == "https://dialer.shop.example/retailcrm/telephony/make-call"
    assert tel["changeUserStatusUrl"] == (
        "https://dialer.shop.example/retailcrm/telephony/user-status"
    )
    assert tel["additionalCodes"] == [{"userId": 12, "code": "101"}, {"userId": 13, "code": "102"}]
    assert tel["externalPhones"] == [{"siteCode": "", "externalPhone": "74951234567"}]
    assert (tel["outputEventSupported"], tel["hangupEventSupported"]) == (True, True)
    assert tel["inputEventSupported"] is False  # the dialer takes no incoming calls
    method, path, headers, _ = tel_crm.server.requests[-1]
    assert (method, path) == ("POST", "/api/v5/integration-modules/callback-dialer/edit")
    assert headers["x-api-key"] == API_KEY


def test_a_wrong_key_is_a_permanent_rejection(tel_crm: RetailCrmTelephonyDouble) -> None:
    with pytest.raises(CrmPermanentError, match="401"):
        client(tel_crm, key="wrong").register(settings())


def test_an_outage_and_a_rate_limit_are_retried_later(tel_crm: RetailCrmTelephonyDouble) -> None:
    tel_crm.server.down = True
    with pytest.raises(CrmUnavailableError, match="503"):
        client(tel_crm).send_event(call_event(settings(), "a1", "79161234567", "out", "at-1"))
    tel_crm.server.down, tel_crm.limited = False, True
    with pytest.raises(CrmUnavailableError, match="429"):
        client(tel_crm).send_event(call_event(settings(), "a1", "79161234567", "out", "at-1"))


def test_register_command_prints_what_it_registered(
    tel_crm: RetailCrmTelephonyDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    for name, value in {**ENV, "TEL_API_KEY": API_KEY}.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "dialer.toml"
    path.write_text(
        f'[crm]\nkind = "retailcrm"\n[crm.retailcrm]\nurl = "{tel_crm.url}"\n'
        'api_key_env = "TEL_API_KEY"\n[crm.telephony]\ncode = "dialer-1"\n'
        'public_url = "https://dialer.shop.example"\nclient_id_env = "TEL_CLIENT_ID"\n'
        'record_key_env = "TEL_RECORD_KEY"\n[crm.telephony.users]\n'
        'a1 = { user_id = 12, code = "101" }\n',
        encoding="utf-8",
    )
    assert main(["crm", "telephony", "register", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "registered telephony module 'dialer-1'" in out
    assert "agent a1: RetailCRM user 12, code 101" in out
    assert CLIENT_ID not in out
    assert "dialer-1" in tel_crm.modules


def test_register_command_names_a_missing_section(tmp_path: Path) -> None:
    path = tmp_path / "dialer.toml"
    path.write_text('[crm]\nkind = "retailcrm"\n[crm.retailcrm]\nurl = "https://x.example"\n'
                    'api_key_file = "key"\n', encoding="utf-8")  # fmt: skip
    (tmp_path / "key").write_text("k", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main(["crm", "telephony", "register", "--config", str(path)])
    assert exit_.value.code == 2


# ---- events and uploads ----------------------------------------------------------------------


def test_the_accept_event_names_the_managers_code_and_user(
    tel_crm: RetailCrmTelephonyDouble,
) -> None:
    client(tel_crm).send_event(call_event(settings(), "a2", "79161234567", "out", "at-7"))
    assert tel_crm.events == [{
        "phone": "79161234567", "type": "out", "codes": ["102"], "userIds": [13],
        "callExternalId": "at-7",
    }]  # fmt: skip


def test_an_upload_carries_result_duration_and_a_signed_record_link(
    tel_crm: RetailCrmTelephonyDouble,
) -> None:
    s = settings()
    call = FinishedCall("at-7", "a1", "79161234567", NOW, "answered", 95,
                        "/var/spool/asterisk/monitor/dialer/at-7.wav")  # fmt: skip
    client(tel_crm).upload([upload_body(s, call, now=NOW)])
    [sent] = tel_crm.calls
    assert {k: sent[k] for k in ("date", "type", "phone", "code", "userId", "result",
                                 "duration", "externalId")} == {
        "date": "2026-03-10 12:30:00", "type": "out", "phone": "79161234567", "code": "101",
        "userId": 12, "result": "answered", "duration": 95, "externalId": "at-7",
    }  # fmt: skip
    url = sent["recordUrl"]
    assert url.startswith("https://dialer.shop.example/retailcrm/telephony/records/at-7.wav?")
    query = dict(p.split("=") for p in url.split("?")[1].split("&"))
    assert int(query["expires"]) == int(NOW.timestamp()) + 30 * 86400
    assert record_link_valid(s.record_key, "at-7.wav", query["expires"], query["sig"], NOW) is None
    later = NOW + timedelta(days=31)
    assert record_link_valid(s.record_key, "at-7.wav", query["expires"], query["sig"], later) == (
        "the link has expired"
    )
    assert record_link_valid(s.record_key, "at-8.wav", query["expires"], query["sig"], NOW) == (
        "bad signature"
    )


def test_a_call_without_recording_has_no_record_link() -> None:
    call = FinishedCall("at-1", "a1", "79161234567", NOW, "no answered", 0)
    assert "recordUrl" not in upload_body(settings(), call, now=NOW)


def test_an_unknown_result_never_reaches_retailcrm() -> None:
    with pytest.raises(ValueError, match="result 'noanswer'"):
        FinishedCall("at-1", "a1", "79161234567", NOW, "noanswer", 0)


def test_a_refused_upload_is_permanent_with_retailcrms_errors(
    tel_crm: RetailCrmTelephonyDouble,
) -> None:
    bad = upload_body(settings(), FinishedCall("at-1", "a1", "7916", NOW, "busy", 0), now=NOW)
    bad["date"] = "2026-03-10T09:30:00Z"
    with pytest.raises(CrmPermanentError, match=r"400 Errors in the input.*calls\[0\]\.date"):
        client(tel_crm).upload([bad])
    assert json.loads(json.dumps(tel_crm.calls)) == []


# ---- the service's file ----------------------------------------------------------------------

SERVICE = """
[campaign]
name = "shop"
agents = ["a1"]
[ami]
secret_env = "AMI_SECRET"
"""
RETAIL = """
[crm]
kind = "{kind}"
[crm.retailcrm]
url = "https://shop.retailcrm.example"
api_key_env = "TEL_API_KEY"
site = "shop-1"
timezone = "Asia/Almaty"
[crm.http]
pull_url = "https://crm.example/orders"
status_url = "https://crm.example/orders/{{id}}"
outcome_url = "https://crm.example/outcomes"
secret_env = "TEL_RECORD_KEY"
[crm.telephony]
public_url = "https://dialer.shop.example"
client_id_env = "TEL_CLIENT_ID"
record_key_env = "TEL_RECORD_KEY"
recordings_dir = "rec"
[crm.telephony.users]
a1 = {{ user_id = 12, code = "101" }}
"""


def test_the_service_file_carries_the_telephony_section(tmp_path: Path) -> None:
    path = tmp_path / "service.toml"
    path.write_text(SERVICE + RETAIL.format(kind="retailcrm"), encoding="utf-8")
    env = {**ENV, "AMI_SECRET": "x", "TEL_API_KEY": API_KEY}
    config = load_service_config(path, env)
    assert config.telephony is not None
    assert config.telephony.recordings_dir == tmp_path / "rec"  # relative to the file
    assert config.telephony.users[0].user_id == 12
    assert config.telephony.site == "shop-1"  # the calls belong to [crm.retailcrm]'s shop
    assert config.telephony.timezone == "Asia/Almaty"  # and use the account's zone
    event = call_event(config.telephony, "a1", "77011234567", "out", "at-1")
    assert event["site"] == "shop-1"


def test_the_telephony_section_needs_the_retailcrm_kind(tmp_path: Path) -> None:
    path = tmp_path / "service.toml"
    path.write_text(SERVICE + RETAIL.format(kind="http"), encoding="utf-8")
    env = {**ENV, "AMI_SECRET": "x", "TEL_API_KEY": API_KEY}
    with pytest.raises(ConfigError, match=r"crm\.telephony: .*kind = \"retailcrm\""):
        load_service_config(path, env)


def test_the_documented_section_is_valid(tmp_path: Path) -> None:
    """docs/crm.md's example of ``[crm.telephony]``, its secrets' files made up here."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "crm.md").read_text(encoding="utf-8")
    block = next(b.split("```", 1)[0] for b in docs.split("```toml")[1:] if "[crm.telephony]" in b)
    text = "\n".join(line.strip() for line in block.splitlines())
    for name in ("retailcrm-key", "retailcrm-client-id", "retailcrm-record-key"):
        (tmp_path / name).write_text(f"{name}-of-at-least-16-chars\n", encoding="utf-8")
        text = text.replace(f"/etc/callback-dialer/{name}", str(tmp_path / name))
    data = tomllib.loads(text)
    s = parse_telephony(data["crm"]["telephony"], {}, base=tmp_path)
    assert s is not None
    assert [(u.agent_id, u.user_id, u.code) for u in s.users] == [
        ("1001", 12, "101"), ("1002", 13, "102"),
    ]  # fmt: skip
    assert s.pauses == {"busy": "техническая пауза", "dinner": "обед", "break": "перерыв"}
