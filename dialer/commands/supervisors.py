"""`callback-dialer supervisors`: add, change, list and remove supervisors, set their
dashboard passwords; `callback-dialer audit`: print the supervision audit log.

Supervisors sign in to the dashboard (``/``) with the same sign-in as agents (scrypt hash,
lockout, sessions) but are never offered calls. Their ``--extension`` is their own phone,
rung when they listen to, whisper on or barge into a call (docs/supervisors.md).
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dialer.agent_auth.passwords import PasswordHasher, PasswordRuleError
from dialer.agent_auth.service import AgentAuth
from dialer.app.operations import InvalidRequestError
from dialer.app.supervision import parse_bound
from dialer.cli import UsageError
from dialer.commands.agents import _read_password
from dialer.commands.db import database, storage_command
from dialer.storage.agent_auth import SUPERVISORS, SqlAgentAuthStore
from dialer.storage.audit import AuditEntry, SqlAuditLog
from dialer.storage.supervisors import SqlSupervisors, SupervisorRecord

MODES_RU = {"listen": "слушал", "whisper": "суфлёр", "barge": "вмешался",
            "sign_in": "вход", "sign_out": "выход", "view_report": "отчёт",
            "play_recording": "прослушал запись"}  # fmt: skip


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "supervisors",
        help="add, change, list, remove supervisors; set their dashboard passwords",
        description="Supervisors sign in to the dashboard and may listen to, whisper on or "
        "barge into live calls on their own phone (--extension). They are not agents: no "
        "call is offered to them.",
    )
    actions = parser.add_subparsers(dest="supervisors_action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add supervisor ID (then set a password)")
    add.add_argument("supervisor", metavar="ID", help="letters, digits, _ . - (1-64)")
    _profile_flags(add)
    add.set_defaults(func=run_add)
    change = actions.add_parser("set", help="change ID's name or extension")
    change.add_argument("supervisor", metavar="ID")
    _profile_flags(change)
    change.add_argument("--no-extension", action="store_true", help="remove the extension")
    change.set_defaults(func=run_set)
    listing = actions.add_parser("list", help="print every supervisor")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=run_list)
    remove = actions.add_parser("remove", help="delete ID with its password and sessions")
    remove.add_argument("supervisor", metavar="ID")
    remove.set_defaults(func=run_remove)
    password = actions.add_parser(
        "password",
        help="set ID's dashboard password (at least 8 characters; ends their sessions)",
        description="Read twice from the terminal, or once from standard input with "
        "--stdin; stored only as a salted scrypt hash.",
    )
    password.add_argument("supervisor", metavar="ID")
    password.add_argument("--stdin", action="store_true", help="read one line of stdin")
    password.set_defaults(func=run_password)
    _register_audit(sub)


def _profile_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", help="the name shown on the dashboard (default: the id)")
    parser.add_argument(
        "--extension",
        metavar="DIGITS",
        help="the supervisor's own phone (digits, 2-15), dialled through the campaign's "
        "agent channel template, e.g. PJSIP/{agent} -> PJSIP/201",
    )


def _register_audit(sub: Any) -> None:
    audit = sub.add_parser(
        "audit",
        help="print the supervision audit log (listen, whisper, barge, sign-in/out)",
        description="Newest first, at most 1000 rows: who, when, which mode, whose call "
        "(agent, order, attempt), accepted or refused.",
    )
    audit.add_argument(
        "--since", metavar="DATE", help="YYYY-MM-DD (UTC) or ISO 8601; default 7 days ago"
    )
    audit.add_argument("--until", metavar="DATE", help="YYYY-MM-DD (inclusive) or ISO 8601")
    audit.add_argument("--json", action="store_true", help="one JSON object per line")
    audit.set_defaults(func=run_audit)


@storage_command
def run_add(args: argparse.Namespace) -> int:
    record = SqlSupervisors(database(args)).add(
        args.supervisor, datetime.now(UTC), name=args.name, extension=args.extension
    )
    print(f"{record.id}: added ({_shown(record)}); set a password: "
          f"callback-dialer supervisors password {record.id}")  # fmt: skip
    return 0


@storage_command
def run_set(args: argparse.Namespace) -> int:
    if args.no_extension and args.extension is not None:
        raise UsageError("--extension and --no-extension: pick one")
    record = SqlSupervisors(database(args)).change(
        args.supervisor, name=args.name, extension=args.extension,
        clear_extension=args.no_extension,
    )  # fmt: skip
    print(f"{record.id}: {_shown(record)}")
    return 0


@storage_command
def run_list(args: argparse.Namespace) -> int:
    for record in SqlSupervisors(database(args)).all():
        if args.json:
            print(json.dumps({"id": record.id, "name": record.display_name,
                              "extension": record.extension}, ensure_ascii=False))  # fmt: skip
        else:
            print(f"{record.id:<16} {record.extension or '-':<16} {record.display_name}")
    return 0


@storage_command
def run_remove(args: argparse.Namespace) -> int:
    SqlSupervisors(database(args)).remove(args.supervisor)
    print(f"{args.supervisor}: removed (the audit log keeps their entries)")
    return 0


@storage_command
def run_password(args: argparse.Namespace) -> int:
    engine = database(args)
    SqlSupervisors(engine).get(args.supervisor)  # an unknown id: exit 2 before asking
    password = _read_password(args.stdin)
    auth = AgentAuth(SqlAgentAuthStore(engine, SUPERVISORS), PasswordHasher(),
                     clock=lambda: datetime.now(UTC), ttl=timedelta(0))  # fmt: skip
    try:
        ended = auth.set_password(args.supervisor, password)
    except PasswordRuleError as exc:
        raise UsageError(str(exc)) from exc
    print(f"{args.supervisor}: password set; {ended} session(s) ended")
    return 0


@storage_command
def run_audit(args: argparse.Namespace) -> int:
    now, zone = datetime.now(UTC), ZoneInfo("UTC")
    try:
        since = (now - timedelta(days=7) if args.since is None
                 else parse_bound(args.since, "--since", zone, end=False))  # fmt: skip
        until = None if args.until is None else parse_bound(args.until, "--until", zone, end=True)
    except InvalidRequestError as exc:
        raise UsageError(str(exc)) from exc
    for entry in SqlAuditLog(database(args)).entries(since, until):
        print(json.dumps(entry.as_json(), ensure_ascii=False) if args.json else line(entry))
    return 0


def line(entry: AuditEntry) -> str:
    """One entry as a line: when, who, what, whose call, the result."""
    at = entry.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    call = (f" agent {entry.agent_id or '-'} order {entry.order_id or '-'} "
            f"attempt {entry.attempt_id}") if entry.attempt_id else ""  # fmt: skip
    why = f" ({entry.detail})" if entry.detail else ""
    mode = f"{entry.action} ({MODES_RU.get(entry.action, entry.action)})"
    return f"{at} {entry.actor_kind} {entry.actor}: {mode}{call}: {entry.result}{why}"


def _shown(record: SupervisorRecord) -> str:
    return f"name {record.display_name!r}, extension {record.extension or 'none'}"
