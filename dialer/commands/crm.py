"""`callback-dialer crm check`: load the [crm] section, connect, fetch one page of orders.

The page is filtered with the file's own ``[campaign]`` intake filter (statuses, states,
excluded sources; the defaults when the file has no ``[campaign]``), as ``run`` pulls.
For RetailCRM the configuration is first held against the account's references
(``crm_adapter.retailcrm_check``): a mismatch is printed naming its key and exits 2;
``--suggest`` prints a mapping built from the account's own statuses instead.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crm_adapter.config import load_crm_config
from crm_adapter.conformance import ConformanceCheck, planned_outcomes
from crm_adapter.errors import CrmConfigError, CrmError
from crm_adapter.factory import make_adapter
from crm_adapter.port import IntakeFilter
from crm_adapter.retailcrm import RetailCrmAdapter
from crm_adapter.retailcrm_check import check_account, read_account, suggest
from dialer.cli import UsageError
from dialer.commands import crm_telephony
from dialer.config.campaign import ConfigError, load_campaign


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "crm", help="check the CRM connection", description="Work with the configured CRM."
    )
    actions = parser.add_subparsers(dest="crm_action", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="connect and fetch the first page of orders")
    check.add_argument("--config", required=True, type=Path, metavar="FILE.toml")
    check.add_argument(
        "--conformance",
        action="store_true",
        help="HTTP/JSON CRM: drive it through the whole protocol and list each deviation "
        "(writes test outcomes to the --order test order only)",
    )
    check.add_argument(
        "--order",
        metavar="ID",
        help="with --conformance: the id of a TEST order the check may read and write to",
    )
    check.add_argument(
        "--suggest",
        action="store_true",
        help="RetailCRM: print a [crm.mapping] built from the account's own statuses",
    )
    check.set_defaults(func=run_check)
    crm_telephony.add_actions(actions)  # crm telephony register (issue 17 §2)


def run_check(args: argparse.Namespace) -> int:
    if getattr(args, "conformance", False) or getattr(args, "order", None) is not None:
        return run_conformance(args)
    try:
        config = load_crm_config(args.config, os.environ)
        campaign = load_campaign(args.config)
        adapter = make_adapter(
            config, clock=lambda: datetime.now(UTC), monotonic=time.monotonic, sleep=time.sleep
        )
    except (CrmConfigError, ConfigError) as exc:
        raise UsageError(str(exc)) from exc
    if args.suggest and not isinstance(adapter, RetailCrmAdapter):
        adapter.close()
        raise UsageError('crm check --suggest: only for [crm] kind = "retailcrm"')
    intake = IntakeFilter.for_campaign(campaign, page_size=config.page_size)
    try:
        if isinstance(adapter, RetailCrmAdapter):
            account = read_account(adapter)
            if args.suggest:
                print(suggest(account, config.mapping), end="")
                return 0
            findings = check_account(adapter, account, config.mapping, campaign)
            for finding in findings:
                print(f"callback-dialer: {finding}", file=sys.stderr)
            if any(f.fatal for f in findings):
                return 2
        orders = list(itertools.islice(adapter.fetch_waiting(intake), config.page_size))
    except CrmError as exc:
        print(f"callback-dialer: error: {config.kind} CRM: {exc}", file=sys.stderr)
        return 1
    finally:
        adapter.close()
    print(f"{config.kind} CRM reachable: {len(orders)} waiting order(s) on the first page")
    for order in orders[:5]:
        print(f"  {order.id}\t{order.created_at.isoformat(timespec='minutes')}\t{order.status}")
    return 0


def run_conformance(args: argparse.Namespace) -> int:
    """``crm check --conformance --order ID``: 0 when the CRM conforms, 1 when it deviates
    (or cannot be reached), 2 for a usage or configuration error."""
    if not args.conformance:
        raise UsageError("--order is used with --conformance")
    if args.order is None or not args.order.strip():
        raise UsageError(
            "--conformance writes test outcomes: give --order ID, the id of a test order "
            "set aside for the check (it is never chosen for you)"
        )
    try:
        config = load_crm_config(args.config, os.environ)
        campaign = load_campaign(args.config)
        if config.http is None:
            raise UsageError(f"--conformance checks an HTTP/JSON CRM ([crm] kind = \"http\"), "
                             f"not {config.kind!r}")  # fmt: skip
        check = ConformanceCheck(
            config.http,
            IntakeFilter.for_campaign(campaign, page_size=config.page_size),
            order_id=args.order.strip(),
            outcomes=planned_outcomes(config.mapping),
            clock=lambda: datetime.now(UTC),
        )
    except (CrmConfigError, ConfigError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    findings = check.run()
    deviations = [f for f in findings if f.deviation]
    for finding in findings:
        if finding.deviation:
            print(f"DEVIATION  {finding.step}: {finding.seen}")
            print(f"           expected: {finding.expected}")
        else:
            print(f"ok         {finding.step}: {finding.seen}")
    if deviations:
        print(f"{len(deviations)} deviation(s) from the protocol (docs/crm.md)")
        return 1
    print(f"conformant: the CRM follows the protocol (test order {args.order.strip()})")
    return 0
