"""Campaign settings that are not a rule of their own elsewhere."""

from __future__ import annotations

import re

import pytest

from campaigns.settings import CampaignSettings
from dialer.config.campaign import ConfigError, campaign_from_mapping


def test_wrap_up_max_s_is_a_campaign_setting_refused_below_wrap_up_s() -> None:
    """Issue 15: how long an answered call may wait for its result before ops see
    «нет результата»; shorter than the normal wrap-up would flag every call."""
    assert CampaignSettings().wrap_up_max_s == 180
    assert campaign_from_mapping({"wrap_up_max_s": 60}).wrap_up_max_s == 60
    with pytest.raises(ConfigError, match=re.escape("wrap_up_max_s must be at least wrap_up_s")):
        campaign_from_mapping({"wrap_up_s": 30, "wrap_up_max_s": 20})


def test_callback_owner_grace_s_is_a_campaign_setting_never_negative() -> None:
    """Issue 15: how long an owned callback («мой перезвон») waits for its agent."""
    assert CampaignSettings().callback_owner_grace_s == 120
    assert campaign_from_mapping({"callback_owner_grace_s": 0}).callback_owner_grace_s == 0
    with pytest.raises(ConfigError, match=re.escape("callback_owner_grace_s must be 0 or more")):
        campaign_from_mapping({"callback_owner_grace_s": -1})


def test_refusal_problems_default_to_the_manuals_and_are_a_campaign_setting() -> None:
    """Seed 001 («Передумал», «Другое») and seed 004's cancelled group."""
    defaults = campaign_from_mapping({}).refusal_problems
    assert defaults[0] == "Передумал" and defaults[-1] == "Другое"
    assert "Не устроила цена" in defaults
    chosen = campaign_from_mapping({"refusal_problems": ["Дорого", "Другое"]})
    assert chosen.refusal_problems == ("Дорого", "Другое")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "campaign.refusal_problems: 1 to 50 problems, got 0"),
        (["Дорого", " "], "campaign.refusal_problems[1]: a text of 1-100 characters"),
        ([" Дорого"], "campaign.refusal_problems[0]: a text of 1-100 characters"),
        (["Д" * 101], "campaign.refusal_problems[0]: a text of 1-100 characters"),
        (["До\nрого"], "campaign.refusal_problems[0]: no control characters"),
        (["Дорого", "Дорого"], "campaign.refusal_problems[1]: 'Дорого' is listed twice"),
        (["x"] * 51, "campaign.refusal_problems: 1 to 50 problems, got 51"),
        ("Дорого", "campaign.refusal_problems: must be a list"),
        ([7], "campaign.refusal_problems[0]: expected str"),
    ],
)
def test_bad_refusal_problems_are_refused_naming_the_field(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        campaign_from_mapping({"refusal_problems": value})
