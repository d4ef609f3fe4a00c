"""`callback-dialer crm telephony register`: register the dialer as the RetailCRM shop's
telephony (``integration-modules/{code}/edit``, issue 17 §2) and print what was sent.

Run it once after setting ``[crm.telephony]`` up, and again whenever agents, their
RetailCRM users or extension codes, or the dialer's public URL change: the edit replaces
the module's settings. The client id and other secrets are never printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

from crm_adapter.config import load_crm_config
from crm_adapter.errors import CrmConfigError, CrmError
from crm_adapter.retailcrm_telephony import (
    TELEPHONY_RATE_PER_S,
    RetailCrmTelephonyClient,
    RetailCrmTelephonySettings,
    SharedBucket,
    parse_telephony,
)
from dialer.cli import UsageError


def add_actions(actions: Any) -> None:
    """Adds ``telephony register`` under ``crm``."""
    telephony = actions.add_parser("telephony", help="RetailCRM's telephony module")
    sub = telephony.add_subparsers(dest="telephony_action", required=True, metavar="ACTION")
    reg = sub.add_parser("register", help="register the dialer as the shop's telephony")
    reg.add_argument("--config", required=True, type=Path, metavar="FILE.toml")
    reg.set_defaults(func=run_register)


def load(path: Path) -> tuple[str, str, RetailCrmTelephonySettings]:
    """The RetailCRM URL, API key and ``[crm.telephony]`` of ``path``; UsageError naming
    the key when they are missing or wrong."""
    try:
        crm = load_crm_config(path, os.environ)
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        settings = parse_telephony(data["crm"].get("telephony"), os.environ, base=path.parent)
    except CrmConfigError as exc:
        raise UsageError(str(exc)) from exc
    if crm.retailcrm is None:
        raise UsageError(f"crm.kind: the telephony module is RetailCRM's; kind is {crm.kind!r}")
    if settings is None:
        raise UsageError("crm.telephony: missing or enabled = false; nothing to register")
    return crm.retailcrm.url, crm.retailcrm.api_key, settings


def run_register(args: argparse.Namespace) -> int:
    url, key, settings = load(args.config)
    bucket = SharedBucket(TELEPHONY_RATE_PER_S, clock=time.monotonic, sleep=time.sleep)
    client = RetailCrmTelephonyClient(url, key, bucket=bucket)
    try:
        body = client.register(settings)
    except CrmError as exc:
        print(f"callback-dialer: error: RetailCRM: {exc}", file=sys.stderr)
        return 1
    tel = body["integrations"]["telephony"]
    print(f"registered telephony module {body['code']!r} ({body['name']}) at {url}")
    print(f"  makeCallUrl:         {tel['makeCallUrl']}")
    print(f"  changeUserStatusUrl: {tel['changeUserStatusUrl']}")
    print("  events: outgoing and hangup; incoming calls: not handled by the dialer")
    for user in settings.users:
        print(f"  agent {user.agent_id}: RetailCRM user {user.user_id}, code {user.code}")
    if settings.external_phone:
        print(f"  external phone: {settings.external_phone}")
    return 0
