"""One OriginateRequest builder: an attempt a restarted service adopts is described exactly as
it was dialled, the campaign's language and channel templates included (issue 14)."""

from __future__ import annotations

import itertools

from fakes import Recorder
from test_dispatcher import T0, order, screen_all_dialable

from campaigns.settings import CampaignSettings
from dialer.dispatch.agents import AgentPool
from dialer.dispatch.dispatcher import Dispatcher, originate_request
from dialer.dispatch.memory_store import MemoryOrderStore

KAZAKH = CampaignSettings(
    language="kk",
    agent_channel_template="Local/{agent}@agents/n",
    customer_channel_template="Local/{number}@customers/n",
)


def test_a_recovered_attempts_request_carries_the_language_and_templates() -> None:
    rec, store, ids = Recorder(), MemoryOrderStore(), itertools.count(1)
    dispatcher = Dispatcher(
        settings=KAZAKH,
        store=store,
        telephony=rec,
        agents=AgentPool(["a0"], T0, wrap_up_s=0, miss_pause_after=3),
        journal=rec,
        screen=screen_all_dialable,
        new_attempt_id=lambda: f"att{next(ids)}",
        jitter=lambda: 0.0,
    )
    dispatcher.admit([order("Z-7001")], T0)
    assert dispatcher.dispatch(T0) == 1
    [sent] = rec.originated
    [live] = store.live_attempts()  # what ServerStarter._recover reads after a restart

    recovered = originate_request(KAZAKH, live)  # what it hands AMI to adopt

    assert recovered == sent
    assert recovered.language == "kk"
    assert recovered.agent_channel_template == "Local/{agent}@agents/n"
    assert recovered.customer_channel_template == "Local/{number}@customers/n"
    assert recovered.announce_digits == "7001"
