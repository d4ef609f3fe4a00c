"""The campaigns of a service file: one ``[campaign]`` table or several ``[campaigns.NAME]``.

A service file has either ``[campaign]`` (one campaign, as always) or ``[campaigns.NAME]``
tables (several in one service; the table key is the campaign's name, and a ``name`` inside
must equal it). Both at once are refused naming the key. Each table is read by the one
campaign loader (``dialer.config.campaign.campaign_from_mapping``), so every error names
the field (``campaigns.shop.window.start``). The campaigns come back in the file's order;
the offer order (``priority``, then name) is ``dialer.dispatch.campaign_offer``'s business.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from campaigns.settings import CampaignSettings
from dialer.config.campaign import ConfigError, campaign_from_mapping


def campaigns_from_file(
    data: Mapping[str, Any], *, crm_kind: object = None
) -> tuple[CampaignSettings, ...]:
    """The file's campaigns in its order: ``[campaign]`` alone, or every ``[campaigns.NAME]``."""
    if "campaigns" not in data:
        table = data.get("campaign", {})
        if not isinstance(table, dict):
            raise ConfigError("campaign: must be a table")
        return (campaign_from_mapping(table, where="campaign", crm_kind=crm_kind),)
    if "campaign" in data:
        raise ConfigError("campaign: a service file has either [campaign] or [campaigns.NAME] "
                          "tables, not both")  # fmt: skip
    tables = data["campaigns"]
    if not isinstance(tables, dict) or not tables:
        raise ConfigError("campaigns: expected [campaigns.NAME] tables, one per campaign")
    return tuple(_one(name, table, crm_kind) for name, table in tables.items())


def _one(name: str, table: Any, crm_kind: object) -> CampaignSettings:
    where = f"campaigns.{name}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    if "name" in table and table["name"] != name:
        raise ConfigError(f"{where}.name: must equal the table's key {name!r}, "
                          f"got {table['name']!r}")  # fmt: skip
    settings = campaign_from_mapping({**table, "name": name}, where=where, crm_kind=crm_kind)
    if not settings.name.strip():
        raise ConfigError(f"{where}: a campaign needs a name")
    return settings
