"""Instants as text: parse_utc gives datetime's UTC (the policy core's), iso_z any zone."""

from __future__ import annotations

import gc
from datetime import UTC, datetime

import pytest
import pytz

from dialer.clock_text import iso_z, parse_utc
from dialer.commands.simulate import _few_collections


def test_parse_utc_gives_datetimes_utc_whatever_the_offset_written() -> None:
    for text in ("2026-03-10T03:00:00+03:00", "2026-03-10T00:00:00Z"):
        at = parse_utc(text)
        assert at == datetime(2026, 3, 10, tzinfo=UTC)
        assert at.tzinfo is UTC  # one UTC object: comparisons stay on the fast path


def test_parse_utc_refuses_a_time_without_a_zone() -> None:
    with pytest.raises(ValueError, match="without a zone"):
        parse_utc("2026-03-10T03:00:00")


def test_iso_z_is_the_same_text_for_every_way_of_writing_an_instant() -> None:
    at = datetime(2026, 3, 10, 0, 0, 5, 250_000, tzinfo=UTC)
    for same in (at, at.astimezone(pytz.utc), at.astimezone(pytz.timezone("Asia/Kamchatka"))):
        assert iso_z(same) == "2026-03-10T00:00:05Z"


def test_the_simulators_collector_settings_are_restored_after_the_run() -> None:
    before = gc.get_threshold()
    with _few_collections():
        assert gc.get_threshold() != before
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_the_simulator_runs_where_the_collector_has_no_thresholds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PyPy's gc module has no get_threshold/freeze: the run goes on untuned, not crashing."""
    monkeypatch.delattr(gc, "get_threshold")
    monkeypatch.delattr(gc, "freeze")
    ran = False
    with _few_collections():
        ran = True
    assert ran
    assert gc.get_freeze_count() == 0
