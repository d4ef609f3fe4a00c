"""The AMI adapter's agent side: campaign dial templates and language on the Originate, and
device states (recorded DeviceStateChange messages) turned into agent ids and reachability."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time
from typing import Any

import pytest
from fakes import Recorder

from campaigns.calls import OriginateRequest
from campaigns.orders import Order
from campaigns.screening import Screening, Verdict
from campaigns.settings import CallingWindow, CampaignSettings
from dialer.ami.results import DeviceChange, DeviceStatus, DeviceTemplate, device_change
from dialer.ami.telephony import AmiSettings, AmiTelephony, InvalidRequest
from dialer.ami.tracker import _Attempt
from dialer.dispatch.agents import AgentPool
from dialer.dispatch.dispatcher import Dispatcher
from dialer.dispatch.memory_store import MemoryOrderStore

ATTEMPT = "2f6e73db-ea7a-4b50-8a9e-7247c09ae12c"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def adapter(**settings: Any) -> AmiTelephony:
    test_settings = AmiSettings(secret="x", **settings)  # noqa: S106 - a test secret
    return AmiTelephony(test_settings, lambda _: None, clock=lambda: NOW)


def request(**changes: Any) -> OriginateRequest:
    base = OriginateRequest(
        attempt_id=ATTEMPT,
        order_id="A-1042",
        agent="1001",
        customer_number="+79161234562",
        announce_digits="1042",
        ring_timeout_s=3,
        accept_timeout_s=3,
    )
    return dataclasses.replace(base, **changes)


def variables(action: dict[str, Any]) -> dict[str, str]:
    return dict(item.split("=", 1) for item in action["Variable"])


# ---- dial templates and language --------------------------------------------------------


def test_the_campaigns_templates_reach_the_originate() -> None:
    action = adapter()._originate_action(
        request(
            agent_channel_template="Local/{agent}@dialer-test-agents",
            customer_channel_template="Local/{number}@dialer-test-customers/n",
        )
    )
    assert action["Channel"] == "Local/1001@dialer-test-agents"
    assert variables(action)["DIALER_CUSTOMER_DIAL"] == "Local/79161234562@dialer-test-customers/n"


def test_without_campaign_templates_the_adapter_settings_are_the_default() -> None:
    action = adapter(
        agent_channel="SIP/{agent}", customer_channel="SIP/8{number}@gw"
    )._originate_action(request())
    assert action["Channel"] == "SIP/1001"
    assert variables(action)["DIALER_CUSTOMER_DIAL"] == "SIP/879161234562@gw"


def test_the_number_reaches_the_dial_string_as_digits_without_the_plus() -> None:
    action = adapter()._originate_action(request())
    assert variables(action)["DIALER_CUSTOMER_DIAL"] == "PJSIP/79161234562@trunk"


@pytest.mark.parametrize(
    "changes",
    [
        {"agent_channel_template": "PJSIP/{agent}&Local/x@y"},
        {"agent_channel_template": "PJSIP/101"},
        {"customer_channel_template": "PJSIP/{number}@trunk,t"},
        {"customer_channel_template": "PJSIP/{number}{number}"},
        {"customer_channel_template": "PJSIP/{agent}@trunk"},
    ],
)
def test_an_unsafe_campaign_template_is_refused_before_anything_is_sent(
    changes: dict[str, str],
) -> None:
    with pytest.raises(InvalidRequest, match="template"):
        adapter()._originate_action(request(**changes))


@pytest.mark.parametrize(("language", "kazakh"), [("kk", "1"), ("ru", "0")])
def test_language_kk_asks_for_the_kazakh_announcement(language: str, kazakh: str) -> None:
    action = adapter()._originate_action(request(language=language))
    assert variables(action)["DIALER_KAZAKH"] == kazakh


def test_the_dispatcher_fills_the_request_from_the_campaign() -> None:
    settings = CampaignSettings(
        agent_channel_template="Local/{agent}@agents",
        customer_channel_template="Local/{number}@customers/n",
        language="kk",
        window=CallingWindow(start=time(0, 0), end=time(23, 59)),
        default_tz="UTC",
    )
    recorder = Recorder()
    dispatcher = Dispatcher(
        settings=settings,
        store=MemoryOrderStore(),
        telephony=recorder,
        agents=AgentPool(["1001"], NOW, wrap_up_s=0, miss_pause_after=3),
        journal=recorder,
        screen=lambda o, _: Screening(Verdict.DIAL, "+79161234562", ("UTC",), o.id),
        new_attempt_id=lambda: ATTEMPT,
        jitter=lambda: 0.0,
    )
    order = Order("A-1042", "+79161234562", "Иван", "Мака", NOW)
    dispatcher.admit([order], NOW)
    assert dispatcher.dispatch(NOW) == 1
    [req] = recorder.originated
    assert req.agent_channel_template == "Local/{agent}@agents"
    assert req.customer_channel_template == "Local/{number}@customers/n"
    assert req.language == "kk"


# ---- device states (recorded from Asterisk 22.10 with res_manager_devicestate) ---------

DEVICE_EVENT = {
    "Event": "DeviceStateChange",
    "Privilege": "call,all",
    "Device": "PJSIP/101",
    "State": "UNAVAILABLE",
}
LIST_ITEM = {
    "Event": "DeviceStateChange",
    "ActionID": "dl",
    "Device": "Custom:agent1001",
    "State": "NOT_INUSE",
}
LOCAL_IN_USE = {
    "Event": "DeviceStateChange",
    "Privilege": "call,all",
    "Device": "Local/1001@dialer-test-agents",
    "State": "INUSE",
}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (DEVICE_EVENT, DeviceChange("PJSIP/101", DeviceStatus.UNAVAILABLE)),
        (LIST_ITEM, DeviceChange("Custom:agent1001", DeviceStatus.NOT_INUSE)),
        (LOCAL_IN_USE, DeviceChange("Local/1001@dialer-test-agents", DeviceStatus.INUSE)),
        (
            {**DEVICE_EVENT, "State": "SOMETHING_NEW"},
            DeviceChange("PJSIP/101", DeviceStatus.UNKNOWN),
        ),
        ({"Event": "DeviceStateListComplete", "ListItems": "1"}, None),
        ({"Response": "Success", "Message": "Device State Changes will follow"}, None),
    ],
)
def test_device_state_messages_parse_to_changes(
    headers: dict[str, str], expected: DeviceChange | None
) -> None:
    assert device_change(headers) == expected


@pytest.mark.parametrize(
    ("status", "reachable"),
    [
        (DeviceStatus.UNAVAILABLE, False),
        (DeviceStatus.INVALID, False),
        (DeviceStatus.NOT_INUSE, True),
        (DeviceStatus.INUSE, True),
        (DeviceStatus.RINGING, True),
        (DeviceStatus.UNKNOWN, None),
    ],
)
def test_only_unavailable_and_invalid_devices_are_unreachable(
    status: DeviceStatus, reachable: bool | None
) -> None:
    assert status.reachable is reachable


@pytest.mark.parametrize(
    ("template", "device", "agent"),
    [
        ("PJSIP/{agent}", "PJSIP/101", "101"),
        ("PJSIP/{agent}", "PJSIP/trunk-2", "trunk-2"),
        ("PJSIP/{agent}", "SIP/101", None),
        ("Custom:agent{agent}", "Custom:agent1001", "1001"),
        ("Local/{agent}@dialer-test-agents", "Local/1001@dialer-test-agents", "1001"),
        ("Local/{agent}@dialer-test-agents", "Local/1001@other", None),
        ("PJSIP/{agent}", "PJSIP/a b", None),
    ],
)
def test_the_agent_id_comes_from_the_template(
    template: str, device: str, agent: str | None
) -> None:
    assert DeviceTemplate(template).agent(device) == agent


def test_a_device_template_without_the_placeholder_is_refused() -> None:
    with pytest.raises(ValueError, match="agent"):
        DeviceTemplate("PJSIP/101")


def test_device_watchers_hear_their_agents_only() -> None:
    telephony = adapter()
    heard: list[tuple[str, DeviceStatus]] = []
    custom: list[tuple[str, DeviceStatus]] = []
    telephony.watch_agent_devices("PJSIP/{agent}", lambda a, s: heard.append((a, s)))
    telephony.watch_agent_devices("Custom:agent{agent}", lambda a, s: custom.append((a, s)))
    for headers in (DEVICE_EVENT, LIST_ITEM, LOCAL_IN_USE):
        telephony._on_device_state(headers)
    assert heard == [("101", DeviceStatus.UNAVAILABLE)]
    assert custom == [("1001", DeviceStatus.NOT_INUSE)]


def test_accept_watchers_hear_the_agent_pressing_1() -> None:
    telephony = adapter()
    telephony._attempts[ATTEMPT] = _Attempt(request(), started_at=NOW, sent=True)
    accepted: list[tuple[str, str]] = []
    telephony.watch_accepts(lambda attempt, agent: accepted.append((attempt, agent)))
    telephony._on_user_event(
        {
            "Event": "UserEvent",
            "UserEvent": "DialerAccepted",
            "Uniqueid": ATTEMPT,
            "Linkedid": ATTEMPT,
            "AttemptId": ATTEMPT,
        }
    )
    assert accepted == [(ATTEMPT, "1001")]


class _RecordingLink:
    def __init__(self) -> None:
        self.actions: list[dict[str, str]] = []

    def send_action(self, action: dict[str, str]) -> None:
        self.actions.append(action)


def test_voice_accept_redirects_the_agent_leg_once_however_often_talking_is_heard() -> None:
    telephony = adapter(voice_accept=True)
    telephony._attempts[ATTEMPT] = _Attempt(request(), started_at=NOW, sent=True)
    link = _RecordingLink()
    telephony._link = link  # type: ignore[assignment]
    talking = {
        "Event": "ChannelTalkingStart",
        "Channel": "Local/1005@dialer-test-agents-00000001;1",
        "Uniqueid": ATTEMPT,
        "Linkedid": ATTEMPT,
    }
    telephony._on_talking(talking)
    telephony._on_talking(talking)
    assert [(a["Action"], a["Exten"]) for a in link.actions] == [("Redirect", "accept")]
