"""Issue 21: a service file names one campaign (``[campaign]``) or several
(``[campaigns.NAME]``); the new settings ``priority`` and ``lines``; errors name the field."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from campaigns.settings import CampaignSettings
from dialer.config.campaign import ConfigError, campaign_from_mapping
from dialer.config.service import ServiceConfig, load_service_config

ENV = {"AMI_SECRET": "s3cret"}
REST = """
[crm]
kind = "demo"
orders = "orders.jsonl"
[ami]
secret_env = "AMI_SECRET"
"""
TWO = """
[campaigns.shop]
agents = ["101", "102"]
priority = 2
lines = 4
[campaigns.shop.window]
start = "09:00"
end = "12:00"

[campaigns."НФ-опт"]
agents = ["102", "103"]
priority = 1
intake_statuses = ["Опт: ожидает подтверждения"]
"""


def load(tmp_path: Path, campaigns: str, rest: str = REST) -> ServiceConfig:
    path = tmp_path / "service.toml"
    path.write_text(campaigns + rest, encoding="utf-8")
    return load_service_config(path, ENV)


def test_one_campaign_table_still_gives_one_campaign(tmp_path: Path) -> None:
    config = load(tmp_path, '[campaign]\nname = "shop"\nagents = ["101"]\n')
    assert config.campaigns == (config.campaign,)
    assert config.campaign.name == "shop"
    assert (config.campaign.priority, config.campaign.lines) == (5, None)


def test_campaigns_tables_give_every_campaign_in_the_files_order_named_by_their_keys(
    tmp_path: Path,
) -> None:
    config = load(tmp_path, TWO)
    assert [c.name for c in config.campaigns] == ["shop", "НФ-опт"]
    shop, wholesale = config.campaigns
    assert config.campaign is shop  # the singular form keeps working: the first
    assert (shop.priority, shop.lines, shop.agents) == (2, 4, ("101", "102"))
    assert (wholesale.priority, wholesale.lines) == (1, None)
    assert shop.window.start.hour == 9 and wholesale.window.start.hour == 10
    assert config.intake_filter().statuses == ("Ожидает подтверждения",)
    assert config.intake_filter(wholesale).statuses == ("Опт: ожидает подтверждения",)


def test_a_campaign_table_may_repeat_its_name_but_not_contradict_it(tmp_path: Path) -> None:
    assert load(tmp_path, '[campaigns.shop]\nname = "shop"\n').campaign.name == "shop"
    with pytest.raises(
        ConfigError, match=re.escape("campaigns.shop.name: must equal the table's key")
    ):
        load(tmp_path, '[campaigns.shop]\nname = "other"\n')


def test_campaign_and_campaigns_together_are_refused_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^campaign: a service file has either \[campaign\]"):
        load(tmp_path, '[campaign]\nname = "a"\n[campaigns.b]\n')


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[campaigns.shop]\npriority = 0\n", "campaigns.shop: priority must be 1 to 9"),
        ("[campaigns.shop]\npriority = 10\n", "campaigns.shop: priority must be 1 to 9"),
        ('[campaigns.shop]\npriority = "high"\n', "campaigns.shop.priority: expected int"),
        ("[campaigns.shop]\nlines = 0\n", "campaigns.shop: lines must be at least 1"),
        ("[campaigns.shop]\nlines = true\n", "campaigns.shop.lines: expected int"),
        ("[campaigns.shop]\nbogus = 1\n", "campaigns.shop.bogus: unknown setting"),
        (
            '[campaigns.shop.window]\nstart = "25:00"\n',
            "campaigns.shop.window.start: expected HH:MM",
        ),
        ("campaigns = 3\n", "campaigns: expected [campaigns.NAME] tables"),
        ('[campaigns]\nshop = "x"\n', "campaigns.shop: must be a table"),
    ],
)
def test_bad_campaigns_are_refused_naming_the_field(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(named)):
        load(tmp_path, text)


def test_priority_and_lines_are_campaign_settings_with_defaults() -> None:
    assert (CampaignSettings().priority, CampaignSettings().lines) == (5, None)
    chosen = campaign_from_mapping({"priority": 1, "lines": 3})
    assert (chosen.priority, chosen.lines) == (1, 3)
    with pytest.raises(ConfigError, match=re.escape("campaign: priority must be 1 to 9")):
        campaign_from_mapping({"priority": -1})


SERVERS = """
[crm]
kind = "demo"
orders = "orders.jsonl"
[ami]
secret_env = "AMI_SECRET"
[ami.servers.ast-1]
agents = ["101", "102"]
[ami.servers.ast-2]
agents = ["201"]
"""


def test_with_servers_a_campaign_names_agents_placed_on_some_server(tmp_path: Path) -> None:
    """Membership and servers combine: the servers place the agents, the campaigns say
    whose calls each agent takes (docs/campaigns.md)."""
    config = load(tmp_path, '[campaigns.a]\nagents = ["101", "201"]\n[campaigns.b]\n', SERVERS)
    assert [c.agents for c in config.campaigns] == [("101", "201"), ()]
    with pytest.raises(
        ConfigError, match=re.escape("campaigns.a.agents[1]: agent '999' is on no server")
    ):
        load(tmp_path, '[campaigns.a]\nagents = ["101", "999"]\n', SERVERS)


def test_with_servers_the_single_campaign_form_still_refuses_campaign_agents(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError, match=re.escape("campaign.agents: with [ami.servers.NAME]")):
        load(tmp_path, '[campaign]\nagents = ["101"]\n', SERVERS)


def test_the_singular_campaign_and_the_list_never_disagree(tmp_path: Path) -> None:
    one = load(tmp_path, '[campaign]\nname = "shop"\n')
    other = CampaignSettings(name="x")
    assert dataclasses.replace(one, campaign=other).campaigns == (other,)
    with pytest.raises(ValueError, match="the first campaign must be"):
        dataclasses.replace(load(tmp_path, TWO), campaign=other)
