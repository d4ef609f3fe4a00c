"""The campaign TOML writer: what ``campaign export`` writes, ``load_campaign`` reads back."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from campaigns.settings import CampaignSettings
from dialer.app.operations import settings_mapping
from dialer.config.campaign import campaign_from_mapping, load_campaign
from dialer.config.campaign_toml import campaign_toml


def test_every_value_type_reads_back_equal() -> None:
    table = {
        "text": 'кавычки " и \\ обратная, \t табуляция, \n строка, \x01 управляющий',
        "int": -7, "float": 5.0, "small": 1e-7, "yes": True, "no": False,
        "day": date(2026, 3, 8), "names": ["Ожидает подтверждения", "Новый"], "days": [0, 6],
        "empty": [], "nested": {"start": "09:00", "deeper": {"ключ с пробелом": 1}},
    }  # fmt: skip
    read = tomllib.loads(campaign_toml(table, header=["exported by a test"]))["campaign"]
    assert read == table


def test_times_are_written_as_hh_mm_texts() -> None:
    assert tomllib.loads(campaign_toml({"start": time(9, 5)}))["campaign"] == {"start": "09:05"}


def test_values_toml_cannot_hold_are_refused_naming_the_key() -> None:
    with pytest.raises(TypeError, match=r"campaign\.window\.start"):
        campaign_toml({"window": {"start": None}})
    with pytest.raises(TypeError, match=r"campaign\.at"):
        campaign_toml({"at": datetime(2026, 3, 8, 9, 0, tzinfo=UTC)})


def test_a_whole_campaign_round_trips_through_load_campaign(tmp_path: Path) -> None:
    settings = campaign_from_mapping({
        "name": "Проект-1 «весна»", "ring_timeout_s": 25, "skip_prepaid": False,
        "retry": {"final_span_hours": 4.5}, "spam_words": ['тест "кавычки"'],
        "window": {"start": "08:30", "end": "21:00", "holidays": ["2026-03-08", "2026-05-01"],
                   "weekdays": ["mon", "tue", "sat"]},
    })  # fmt: skip
    path = tmp_path / "campaign.toml"
    path.write_text(campaign_toml(settings_mapping(settings)), encoding="utf-8")
    assert load_campaign(path) == settings
    assert load_campaign(path) != CampaignSettings(name=settings.name)
