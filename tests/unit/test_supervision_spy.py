"""The node's call spy (``SlotSpy``): a call is spied on through the AMI adapter of the
server carrying it, with the campaign's agent channel template; anything else is refused."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from dialer.ami.settings import AmiUnavailable, InvalidRequest
from dialer.app.operations import InvalidRequestError
from dialer.app.supervision import SPY_OPTIONS, Mode, SlotSpy, SpyRefused, parse_mode


@dataclass
class FakeAdapter:
    calls: set[str]
    error: Exception | None = None
    spied: list[tuple[str, str, str, str | None]] = field(default_factory=list)

    def pending_attempts(self) -> frozenset[str]:
        return frozenset(self.calls)

    def spy(self, attempt_id: str, extension: str, options: str, template: str | None) -> str:
        if self.error is not None:
            raise self.error
        self.spied.append((attempt_id, extension, options, template))
        return "PJSIP/1001-00000001"


def slot(adapter: FakeAdapter, template: str = "PJSIP/{agent}") -> Any:
    settings = SimpleNamespace(agent_channel_template=template)
    return SimpleNamespace(telephony=adapter, dispatcher=SimpleNamespace(settings=settings))


def test_the_server_carrying_the_call_spies_with_the_campaigns_template() -> None:
    first, second = FakeAdapter({"a1"}), FakeAdapter({"a2"})
    SlotSpy([slot(first), slot(second, "SIP/{agent}")]).spy("a2", "201", "qwE")
    assert (first.spied, second.spied) == ([], [("a2", "201", "qwE", "SIP/{agent}")])


@pytest.mark.parametrize("error", [InvalidRequest("call a1 has no answered agent channel"),
                                   AmiUnavailable("the AMI link is down")])  # fmt: skip
def test_the_adapters_refusal_is_a_spy_refusal(error: Exception) -> None:
    with pytest.raises(SpyRefused, match=str(error)):
        SlotSpy([slot(FakeAdapter({"a1"}, error))]).spy("a1", "201", "qE")


def test_a_call_carried_by_no_server_of_this_node_is_refused() -> None:
    with pytest.raises(SpyRefused, match="not carried by this node"):
        SlotSpy([slot(FakeAdapter({"a1"}))]).spy("a9", "201", "qE")


def test_the_modes_and_their_chanspy_options() -> None:
    assert {m.value: SPY_OPTIONS[m] for m in Mode} == {
        "listen": "qE", "whisper": "qwE", "barge": "qBE"}  # fmt: skip
    assert parse_mode("whisper") is Mode.WHISPER
    for bad in ("Listen", "", None, 3, "qB"):
        with pytest.raises(InvalidRequestError) as refused:
            parse_mode(bad)
        assert refused.value.field == "mode"
