"""`callback-dialer orders why ID`: «почему не звоним?» for one order, from the database.

The same explanation as GET /api/v1/orders/{id}/why, with the campaign's settings as the
running service last stored them. What only a running node knows (its line cap, the CRM
re-check's hold) is not known here; the look-up is not audited (the API's are)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from campaigns.settings import CampaignSettings
from dialer.app.operations import NotFoundError
from dialer.app.why import WhyService
from dialer.cli import UsageError
from dialer.commands.db import database, storage_command
from dialer.config.campaign import ConfigError, campaign_from_mapping
from dialer.storage.campaigns import SqlCampaignStore
from dialer.storage.engine import Database
from dialer.storage.numbering import SqlNumberingLookup
from dialer.storage.order_admin import campaign_of
from dialer.storage.why import SqlWhyReads


def register(actions: Any) -> None:
    why = actions.add_parser(
        "why",
        help="why the order is or is not being called now, in plain Russian",
        description="Its zones and where they came from, the calling window there, the next "
        "due time and why, its place in the queue, or its final outcome.",
    )
    why.add_argument("order_id", metavar="ID")
    why.add_argument("--json", action="store_true", help="one JSON object (as the API)")
    why.set_defaults(func=run_why)


@storage_command
def run_why(args: argparse.Namespace) -> int:
    engine = database(args)
    campaign = campaign_of(engine, args.order_id)
    if campaign is None:
        raise UsageError(f"unknown order {args.order_id!r}")
    settings = stored_settings(engine, campaign)
    service = WhyService(SqlWhyReads(engine, campaign), settings=lambda: settings,
                         clock=lambda: datetime.now(UTC),
                         numbering=SqlNumberingLookup(engine))  # fmt: skip
    try:
        answer = service.explain(args.order_id)
    except NotFoundError as exc:
        raise UsageError(str(exc)) from exc
    if args.json:
        print(json.dumps(answer.as_json(), ensure_ascii=False, sort_keys=True))
        return 0
    print(f"Заказ {answer.order_id}: {answer.state}")
    for sentence in answer.sentences:
        print(f"  {sentence}")
    width = max(len(label) for label, _ in answer.table)
    for label, value in answer.table:
        print(f"  {label:<{width}}  {value}")
    return 0


def stored_settings(engine: Database, campaign: str) -> CampaignSettings:
    """The campaign's settings as the service stored them, else the defaults."""
    record = SqlCampaignStore(engine).get(campaign)
    try:
        stored = json.loads(record.settings_json) if record and record.settings_json else {}
        return campaign_from_mapping({**stored, "name": campaign}) if stored else (
            CampaignSettings(name=campaign))  # fmt: skip
    except (ValueError, ConfigError):
        return CampaignSettings(name=campaign)
