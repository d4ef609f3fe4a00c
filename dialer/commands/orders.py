"""`callback-dialer orders`: show one order with its attempts and outcomes; requeue it."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from dialer.cli import UsageError
from dialer.commands.db import database, storage_command
from dialer.operations import OperationError, requeue_stored
from dialer.storage.models import OrderRow
from dialer.storage.views import OrderViews


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


def _detail(args: argparse.Namespace) -> dict[str, Any]:
    engine = database(args)
    with Session(engine) as session:
        row = session.get(OrderRow, args.order_id)
        campaign = None if row is None else row.campaign
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
