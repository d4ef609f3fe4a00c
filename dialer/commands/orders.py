"""`callback-dialer orders`: show one order with its attempts and outcomes; requeue it;
import a CRM's orders export (CSV) through the same intake filter and screening as the CRM."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from campaigns.calls import OriginateRequest
from campaigns.orders import Order
from campaigns.settings import CampaignSettings
from crm_adapter.port import IntakeFilter
from dialer.app.log_journal import LogJournal
from dialer.app.operations import OperationError, requeue_stored
from dialer.app.screener import make_screen
from dialer.cli import UsageError
from dialer.commands import orders_why
from dialer.commands.db import database, storage_command
from dialer.config.campaign import ConfigError, load_campaign
from dialer.dispatch.agents import AgentPool
from dialer.dispatch.dispatcher import Dispatcher
from dialer.imports.orders_csv import OrdersFileError, decode, read_orders
from dialer.storage.order_admin import campaign_of
from dialer.storage.orders import SqlOrderStore
from dialer.storage.views import OrderViews

IMPORT_HELP = (
    "Admit the orders of FILE, a CRM export (CSV: UTF-8 or Windows-1251, ';' or ',' "
    "separated, a header naming the columns id, phone, name, product, created_at, status, "
    "state (the campaign's intake filter reads it) and optionally source, region, city, tz, "
    "country, prepaid; Russian names such as 'Телефон', 'Статус' work too). The whole file "
    "is read first: a malformed line exits 2 "
    "naming it and nothing is admitted. Then each order passes the campaign's intake filter "
    "(statuses, states, excluded sources) and the same screening as a CRM order (invalid "
    "number, spam, duplicate, do-not-call); orders already known are left alone, so running "
    "the import again is harmless. A running service dials the admitted orders."
)


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "orders",
        help="show an order's history; make a queued order due now",
        description="Orders as GET /api/v1/orders/{id} shows them. 'requeue' makes a "
        "queued order due now; a running service dials it at its next dispatch round.",
    )
    actions = parser.add_subparsers(dest="orders_action", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="the order, its attempts and outcomes")
    show.add_argument("order_id", metavar="ID")
    show.add_argument("--json", action="store_true", help="one JSON object (as the API)")
    show.set_defaults(func=run_show)
    requeue = actions.add_parser("requeue", help="a queued order becomes due now")
    requeue.add_argument("order_id", metavar="ID")
    requeue.add_argument("--json", action="store_true", help="print the order as JSON")
    requeue.set_defaults(func=run_requeue)
    imp = actions.add_parser("import", help="admit a CRM's orders export (CSV)",
                             description=IMPORT_HELP)  # fmt: skip
    imp.add_argument("file", type=Path, metavar="FILE.csv")
    imp.add_argument(
        "--campaign", required=True, type=Path, metavar="FILE.toml",
        help="the campaign (its [campaign] table; the service config works too)",
    )  # fmt: skip
    imp.add_argument(
        "--timezone", metavar="ZONE",
        help="zone of DD.MM.YYYY HH:MM dates in the file (default: the campaign's default_tz)",
    )  # fmt: skip
    imp.add_argument("--json", action="store_true", help="print the counts as one JSON object")
    imp.set_defaults(func=run_import)
    orders_why.register(actions)


def _detail(args: argparse.Namespace) -> dict[str, Any]:
    engine = database(args)
    campaign = campaign_of(engine, args.order_id)
    detail = None if campaign is None else OrderViews(engine, campaign).detail(args.order_id)
    if detail is None:
        raise UsageError(f"unknown order {args.order_id!r}")
    return {"campaign": campaign, **detail}


def _when(value: str | None) -> str:
    if value is None:
        return "-"
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _print(order: dict[str, Any]) -> None:
    print(f"order {order['id']} ({order['campaign']}): {order['phase']}", end="")
    print(f", outcome {order['outcome']}" if order["outcome"] else "")
    print(f"  customer   {order['name']}, {order['phone']} ({order['e164'] or 'invalid'})")
    print(f"  product    {order['product']}")
    print(f"  created    {_when(order['created_at'])} UTC; CRM status {order['crm_status']!r}")
    print(f"  calls      {order['customer_attempts']} customer attempt(s)")
    print(f"  next due   {_when(order['next_due_at'])}; callback {_when(order['callback_at'])}")
    print(f"attempts ({len(order['attempts'])}):")
    for a in order["attempts"]:
        print(
            f"  {_when(a['started_at'])}  agent {a['agent']:<6} {a['result'] or 'live':<15} "
            f"{a['detail']}  {a['recording'] or ''}".rstrip()
        )
    print(f"outcomes ({len(order['outcomes'])}):")
    for o in order["outcomes"]:
        print(f"  {_when(o['created_at'])}  {o['kind']:<16} {o['comment']}".rstrip())


@storage_command
def run_show(args: argparse.Namespace) -> int:
    order = _detail(args)
    if args.json:
        print(json.dumps(order, ensure_ascii=False, sort_keys=True))
    else:
        _print(order)
    return 0


@storage_command
def run_requeue(args: argparse.Namespace) -> int:
    try:
        requeue_stored(database(args), args.order_id, datetime.now(UTC))
    except OperationError as exc:
        raise UsageError(str(exc)) from exc
    order = _detail(args)
    if args.json:
        print(json.dumps(order, ensure_ascii=False, sort_keys=True))
    else:
        print(f"order {args.order_id}: due now ({_when(order['next_due_at'])} UTC)")
    return 0


class _NoTelephony:
    """The import admits orders; it never dials (a running service does)."""

    def originate(self, request: OriginateRequest) -> None:
        raise AssertionError(f"orders import must not dial ({request.order_id})")


@storage_command
def run_import(args: argparse.Namespace) -> int:
    settings = _campaign(args.campaign)
    orders = _read_file(args.file, _zone(args.timezone or settings.default_tz))
    engine = database(args)
    store = SqlOrderStore(engine, campaign=settings.name)
    counts = Counter(read=len(orders))
    known = {o.id for o in orders if store.get(o.id) is not None}
    intake = IntakeFilter.for_campaign(settings)
    waiting = [o for o in orders if o.id not in known and intake.admits(o)]
    counts.update(known=len(known), not_waiting=len(orders) - len(known) - len(waiting))
    counts["admitted"] = _admitter(settings, store, args.db).admit(waiting, datetime.now(UTC))
    counts["screened_out"] = len(waiting) - counts["admitted"]
    if args.json:
        print(json.dumps(dict(counts), sort_keys=True))
    else:
        print(
            f"{args.file}: {counts['read']} order(s) read; {counts['admitted']} admitted, "
            f"{counts['screened_out']} screened out (invalid, spam, duplicate, do-not-call), "
            f"{counts['not_waiting']} not waiting (intake filter), {counts['known']} already known"
        )
    return 0


def _campaign(path: Path) -> CampaignSettings:
    try:
        return load_campaign(path)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError):
        raise UsageError(f"--timezone: unknown time zone {name!r}") from None


def _read_file(path: Path, zone: ZoneInfo) -> list[Order]:
    try:
        text, _ = decode(path.read_bytes())
        orders = [order for _, order in read_orders(text, zone)]
    except OSError as exc:
        raise UsageError(f"cannot read {str(path)!r}: {exc.strerror}") from exc
    except OrdersFileError as exc:
        raise UsageError(f"{path.name}: {exc}") from exc
    ids = Counter(o.id for o in orders)
    repeated = sorted(i for i, n in ids.items() if n > 1)
    if repeated:
        raise UsageError(f"{path.name}: order id {repeated[0]!r} appears more than once")
    return orders


def _admitter(settings: CampaignSettings, store: SqlOrderStore, db_url: str) -> Dispatcher:
    """The service's own admission (screening, duplicates, outcomes) without telephony."""
    return Dispatcher(
        settings=settings,
        store=store,
        telephony=_NoTelephony(),
        agents=AgentPool((), datetime.now(UTC), wrap_up_s=0, miss_pause_after=1),
        journal=LogJournal(),
        screen=make_screen(settings, db_url=db_url),
        new_attempt_id=lambda: "",
        jitter=lambda: 0.0,
    )
