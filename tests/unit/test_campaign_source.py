"""Issue 21: the database is the campaign's source; the file is imported once, then only
compared; a running node follows new versions at its next round."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from campaigns.preview import QueuedOrder
from campaigns.settings import CampaignSettings
from dialer.app.campaign_source import (
    CampaignFollowers,
    SettingsFollower,
    campaign_settings_at_start,
    changed_fields,
    queue_follows,
    settings_from_json,
    settings_json,
    to_each,
)
from dialer.catalog.memory import MemoryCatalog
from dialer.config.campaign import campaign_from_mapping
from dialer.storage.errors import DatabaseUnavailableError

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
NAME = "Проект-1"


def campaign(start: str = "09:00", **more: object) -> CampaignSettings:
    return campaign_from_mapping({"name": NAME, "window": {"start": start}, **more})


def test_a_campaign_round_trips_through_the_stored_json() -> None:
    settings = campaign_from_mapping({
        "name": NAME, "ring_timeout_s": 25, "retry": {"final_span_hours": 4.5},
        "window": {"start": "08:30", "holidays": ["2026-03-08"], "weekdays": ["mon", "tue"]},
    })  # fmt: skip
    assert settings_from_json(settings_json(settings)) == settings


def test_changed_fields_name_nested_settings_with_dots() -> None:
    before = {"window": {"start": "09:00", "end": "21:00"}, "ring_timeout_s": 20, "x": 1}
    after = {"window": {"start": "10:00", "end": "21:00"}, "ring_timeout_s": 20, "y": 2}
    assert changed_fields(before, after) == ["window.start", "x", "y"]


def test_rule_first_start_imports_the_files_campaign_once() -> None:
    catalog, said = MemoryCatalog(), []
    got = campaign_settings_at_start(catalog, campaign(), source="/etc/dialer/shop.toml",
                                     now=T0, log=said.append)  # fmt: skip
    assert got == campaign()
    [version] = catalog.history(NAME)
    assert (version.version, version.author, version.note) == (
        1, "import:/etc/dialer/shop.toml", "first start: imported from /etc/dialer/shop.toml",
    )  # fmt: skip
    assert len(said) == 1 and "imported" in said[0]
    again: list[str] = []
    later = T0 + timedelta(hours=1)
    assert campaign_settings_at_start(catalog, campaign(), source="/etc/dialer/shop.toml",
                                      now=later, log=again.append) == campaign()  # fmt: skip
    assert again == [] and len(catalog.history(NAME)) == 1


def test_rule_a_file_differing_from_the_database_is_reported_and_overwrites_nothing() -> None:
    catalog = MemoryCatalog()
    catalog.create(NAME, settings_json(campaign("08:00")), author="supervisor:olga", now=T0)
    said: list[str] = []
    got = campaign_settings_at_start(catalog, campaign("10:00", ring_timeout_s=40),
                                     source="shop.toml", now=T0, log=said.append)  # fmt: skip
    assert got == campaign("08:00")  # the database's
    assert catalog.get(NAME).settings_json == settings_json(campaign("08:00"))
    assert len(catalog.history(NAME)) == 1
    [message] = said
    assert "running the DATABASE's settings" in message
    assert 'window.start: file "10:00", database "08:00"' in message
    assert "ring_timeout_s: file 40, database " in message
    assert "callback-dialer campaign import shop.toml" in message
    assert f"callback-dialer campaign export {NAME}" in message


def test_rule_a_node_that_places_agents_at_its_server_dials_its_files_agents() -> None:
    """Scale-out: each node's file lists the agents at its own Asterisk server. The node
    running server 2 must not take server 1's agents from the database (they are not on its
    PBX), and that difference alone is not reported; the other settings are the database's."""
    catalog = MemoryCatalog()
    catalog.create(NAME, settings_json(campaign("08:00", agents=["1001", "1011"])),
                   author="import:n1.toml", now=T0)  # fmt: skip
    said: list[str] = []
    mine = campaign("08:00", agents=["1031", "1041"])
    got = campaign_settings_at_start(catalog, mine, source="n2.toml", now=T0, log=said.append,
                                     file_agents=True)  # fmt: skip
    assert got == mine and said == []
    other = campaign("10:00", agents=["1031"])
    got = campaign_settings_at_start(catalog, other, source="n2.toml", now=T0, log=said.append,
                                     file_agents=True)  # fmt: skip
    assert got == campaign("08:00", agents=["1031"])
    assert "window.start" in said[0] and "agents" not in said[0]
    single = campaign_settings_at_start(catalog, mine, source="one.toml", now=T0, log=print)
    assert single.agents == ("1001", "1011")  # one node, no placement: the database's roster


def test_a_followed_version_keeps_the_agents_the_node_started_with() -> None:
    catalog, slots = MemoryCatalog(), [Slot()]
    catalog.create(NAME, settings_json(campaign()), author="a", now=T0)
    follower = SettingsFollower(catalog, NAME, to_each(slots, NAME), log=print)
    catalog.update(NAME, settings_json(campaign("11:00", agents=["1099"])), author="b", now=T0)
    assert follower.follow()
    assert slots[0].dispatcher.applied == [campaign("11:00")]  # agents: read at start


def test_a_broken_stored_version_stops_the_start_naming_the_field() -> None:
    catalog = MemoryCatalog()
    catalog.create(NAME, json.dumps({"name": NAME, "window": {"start": "25:00"}}), author="x",
                   now=T0)  # fmt: skip
    with pytest.raises(Exception, match=r"window\.start"):
        campaign_settings_at_start(catalog, campaign(), source="f", now=T0, log=print)


class Dispatcher:
    def __init__(self) -> None:
        self.applied: list[CampaignSettings] = []
        self.settings = campaign()

    def use_settings(self, settings: CampaignSettings) -> None:
        self.applied.append(settings)
        self.settings = settings


class Slot:
    """A server slot with two campaigns' dispatchers: ``NAME``'s and another's."""

    def __init__(self) -> None:
        self.dispatcher, self.other = Dispatcher(), Dispatcher()

    def dispatchers(self) -> dict[str, Dispatcher]:
        return {NAME: self.dispatcher, "other": self.other}


def test_rule_a_new_version_is_taken_at_the_next_round_by_every_dispatcher() -> None:
    catalog = MemoryCatalog()
    catalog.create(NAME, settings_json(campaign()), author="a", now=T0)
    slots, said = [Slot(), Slot()], []
    first, second = slots[0].dispatcher, slots[1].dispatcher
    follower = SettingsFollower(catalog, NAME, to_each(slots, NAME), log=said.append)
    assert follower.follow_then(lambda: "round") == "round" and first.applied == []
    catalog.update(NAME, settings_json(campaign("11:00")), author="supervisor:olga", now=T0)
    assert follower.follow_then(lambda: "round") == "round"
    assert first.applied == second.applied == [campaign("11:00")]
    assert follower.version == 2 and "version 2" in said[0]
    assert not follower.follow() and len(first.applied) == 1  # the same version: nothing
    assert slots[0].other.applied == slots[1].other.applied == []  # another campaign's


def test_rule_each_campaign_follows_its_own_versions_before_the_round() -> None:
    catalog, slots, order = MemoryCatalog(), [Slot()], []
    catalog.create(NAME, settings_json(campaign()), author="a", now=T0)
    catalog.create("other", settings_json(campaign(name="other")), author="a", now=T0)
    followers = CampaignFollowers(catalog, (NAME, "other"), slots, Queue(), clock=lambda: T0,
                                  log=print)  # fmt: skip
    catalog.update("other", settings_json(campaign("12:00", name="other")), author="b", now=T0)
    assert followers.then(lambda: order.append("round") or "ran") == "ran"
    assert slots[0].other.applied == [campaign("12:00", name="other")]
    assert slots[0].dispatcher.applied == [] and order == ["round"]


def test_a_version_that_does_not_load_is_not_taken_and_said_once() -> None:
    catalog = MemoryCatalog()
    catalog.create(NAME, settings_json(campaign()), author="a", now=T0)
    applied: list[CampaignSettings] = []
    said: list[str] = []
    follower = SettingsFollower(catalog, NAME, applied.append, log=said.append)
    catalog.update(NAME, json.dumps({"name": NAME, "surprise": 1}), author="b", now=T0)
    assert not follower.follow() and not follower.follow()
    assert applied == [] and len(said) == 1
    assert "surprise" in said[0]
    catalog.update(NAME, settings_json(campaign("12:00")), author="c", now=T0)
    assert follower.follow() and applied == [campaign("12:00")]


def test_a_database_down_keeps_the_running_settings() -> None:
    catalog = MemoryCatalog()
    catalog.create(NAME, settings_json(campaign()), author="a", now=T0)
    down = [False]

    def version(name: str) -> int:
        if down[0]:
            raise DatabaseUnavailableError("connection refused")
        return catalog.get(name).version

    applied: list[CampaignSettings] = []
    follower = SettingsFollower(catalog, NAME, applied.append, version=version, log=print)
    down[0] = True
    assert follower.follow_then(lambda: 1) == 1 and applied == []
    down[0] = False
    catalog.update(NAME, settings_json(campaign("13:00")), author="c", now=T0)
    assert follower.follow() and applied == [campaign("13:00")]


class Queue:
    """The stored queue as ``queue_follows`` sees it: one order waiting for 09:00 Moscow."""

    def __init__(self, *, down: bool = False) -> None:
        self.down, self.moved = down, []
        self.order = QueuedOrder("НФ-00123", ("Europe/Moscow",), T0 + timedelta(hours=1))

    def bring_forward(
        self, campaign: str, now: datetime, due_of: Callable[[QueuedOrder], datetime | None]
    ) -> int:
        if self.down:
            raise DatabaseUnavailableError("no route to the database")
        at = due_of(self.order)
        self.moved += [] if at is None else [(campaign, at)]
        return 0 if at is None else 1


def test_rule_a_new_window_brings_forward_the_orders_waiting_for_the_old_opening() -> None:
    """T0 is 12:00 in Moscow and the order is due at 13:00 there: no opening of the 09:00
    window (it keeps its time), but the opening of a 13:00 one; widening that to 12:00
    brings it forward to now."""
    queue, said, slots = Queue(), [], [Slot()]
    apply = to_each(slots, NAME, changed=queue_follows(queue, NAME, clock=lambda: T0,
                                                     log=said.append))  # fmt: skip
    apply(campaign("13:00"))  # from 09:00: nothing opens sooner for a 13:00 order
    apply(campaign("13:00", ring_timeout_s=40))  # not a window change: the queue is not read
    assert queue.moved == [] and said == []
    apply(campaign("12:00"))
    assert queue.moved == [(NAME, T0)]
    assert said == [f"campaign {NAME!r}: 1 queued order(s) waiting for the old window's "
                    "opening brought forward to the new window"]  # fmt: skip
    down, told = Queue(down=True), []
    to_each(slots, NAME, changed=queue_follows(down, NAME, clock=lambda: T0, log=told.append))(
        campaign("11:00")
    )
    assert "not brought forward to the new window: no route to the database" in told[0]
    assert slots[0].dispatcher.settings == campaign("11:00")  # the settings are taken anyway
