"""`callback-dialer agents`: list agents, configure a campaign's, log in, log out, pause, resume,
set an agent's workspace password.

The commands change the agents table; a running dialer picks the change up at its next agent
sync (``dialer.app.agent_sync``). A logout or pause of an agent on a call takes effect when the
call ends.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dialer.agent_auth.passwords import PasswordHasher, PasswordRuleError
from dialer.agent_auth.service import AgentAuth
from dialer.cli import UsageError
from dialer.commands.db import database, storage_command
from dialer.config.campaign import ConfigError, load_campaign
from dialer.dispatch.agents import AgentState
from dialer.storage.agent_auth import SqlAgentAuthStore
from dialer.storage.agents import AgentRecord, Change, SqlAgentRegistry, checked_server
from dialer.storage.errors import InvalidValueError

STATE_NAMES: dict[AgentState, str] = {
    AgentState.LOGGED_OUT: "не в системе",
    AgentState.IDLE: "свободен",
    AgentState.RINGING: "вызов",
    AgentState.ON_CALL: "разговор",
    AgentState.WRAP_UP: "поствызывная обработка",
    AgentState.PAUSED: "пауза",
}


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "agents",
        help="list agents; log them in or out, pause or resume them; set their passwords",
        description="Agents (operators) of the campaigns. A running dialer applies "
        "changes at its next agent sync; a logout or pause of an agent on a call takes "
        "effect when the call ends.",
    )
    actions = parser.add_subparsers(dest="agents_action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="print every agent with its state")
    listing.add_argument("--campaign", metavar="NAME", help="only this campaign's agents")
    listing.add_argument("--server", metavar="NAME", help="only the agents on this Asterisk server")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=run_list)
    configure = actions.add_parser(
        "configure", help="add the agents listed in a campaign file (new ones logged out)"
    )
    configure.add_argument("campaign_file", metavar="CAMPAIGN_TOML", type=Path)
    configure.add_argument(
        "--server",
        metavar="NAME",
        help="bind the agents to this Asterisk server (the [ami] server of the node that "
        "serves it); only that node offers them calls",
    )
    configure.set_defaults(func=run_configure)
    for name, text in (
        ("login", "log AGENT in (also lifts a pause)"),
        ("logout", "log AGENT out"),
        ("resume", "lift AGENT's pause (misses forgiven)"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("agent", metavar="AGENT")
        action.set_defaults(func=run_request, request=name)
    pause = actions.add_parser("pause", help="pause AGENT with a reason shown to ops")
    pause.add_argument("agent", metavar="AGENT")
    pause.add_argument("--reason", required=True, help="why (shown in 'agents list')")
    pause.set_defaults(func=run_request, request="pause")
    _register_password(actions)


def _register_password(actions: Any) -> None:
    password = actions.add_parser(
        "password",
        help="set AGENT's workspace password (at least 8 characters; ends its sessions)",
        description="Set the password AGENT signs in to the workspace (/agent) with. It is "
        "read twice from the terminal, or once from standard input with --stdin, and stored "
        "only as a salted scrypt hash. The agent's open sessions end.",
    )
    password.add_argument("agent", metavar="AGENT")
    password.add_argument(
        "--stdin", action="store_true", help="read the password from one line of stdin"
    )
    password.set_defaults(func=run_password)


@storage_command
def run_list(args: argparse.Namespace) -> int:
    agents = SqlAgentRegistry(database(args)).all(args.campaign, server=args.server)
    if args.json:
        for agent in agents:
            print(json.dumps(as_json(agent), ensure_ascii=False))
        return 0
    print(
        f"{'AGENT':<10} {'CAMPAIGN':<12} {'STATE':<34} {'SERVER':<10} {'SINCE':<20} MISSES  REASON"
    )
    for agent in agents:
        shown = f"{agent.state.value} ({STATE_NAMES[agent.state]})"
        since = agent.state_since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        print(
            f"{agent.id:<10} {agent.campaign or '-':<12} {shown:<34} {agent.server:<10} "
            f"{since:<20} {agent.consecutive_misses:>6}  {agent.paused_reason or ''}".rstrip()
        )
    return 0


@storage_command
def run_configure(args: argparse.Namespace) -> int:
    try:
        settings = load_campaign(args.campaign_file)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    try:
        server = None if args.server is None else checked_server(args.server)
    except InvalidValueError as exc:
        raise UsageError(f"--server: {exc}") from exc
    added = SqlAgentRegistry(database(args)).configure(
        settings.name,
        settings.agents,
        datetime.now(UTC),
        channel_template=settings.agent_channel_template,
        server=server,
    )
    kept = len(settings.agents) - len(added)
    where = "" if server is None else f" on server {server}"
    print(
        f"campaign {settings.name}: {len(added)} agent(s) added, {kept} already configured" + where
    )
    return 0


@storage_command
def run_request(args: argparse.Namespace) -> int:
    registry = SqlAgentRegistry(database(args))
    now = datetime.now(UTC)
    if args.request == "pause":
        change = registry.pause(args.agent, now, args.reason)
    else:
        change = getattr(registry, args.request)(args.agent, now)
    print(describe(change))
    return 0


@storage_command
def run_password(args: argparse.Namespace) -> int:
    engine = database(args)
    SqlAgentRegistry(engine).get(args.agent)  # an unknown agent: exit 2 before asking
    password = _read_password(args.stdin)
    auth = AgentAuth(SqlAgentAuthStore(engine), PasswordHasher(),
                     clock=lambda: datetime.now(UTC), ttl=timedelta(0))  # fmt: skip
    try:
        ended = auth.set_password(args.agent, password)
    except PasswordRuleError as exc:
        raise UsageError(str(exc)) from exc
    print(f"{args.agent}: password set; {ended} session(s) ended")
    return 0


def _read_password(from_stdin: bool) -> str:
    """One line of stdin (its line end dropped), or the terminal twice, the same both times."""
    if from_stdin:
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Again: ") != first:
        raise UsageError("the two passwords differ; nothing changed")
    return first


def describe(change: Change) -> str:
    before, after = change.before, change.after
    if not change.changed:
        return f"{after.id}: unchanged, {_shown(after)}"
    note = "; takes effect when the current call ends" if before.busy else ""
    return f"{after.id}: {_shown(before)} -> {_shown(after)}{note}"


def as_json(agent: AgentRecord) -> dict[str, Any]:
    ended = agent.last_call_ended_at
    return {
        "id": agent.id,
        "campaign": agent.campaign,
        "name": agent.display_name,
        "channel": agent.channel,
        "server": agent.server,
        "state": agent.state.value,
        "state_ru": STATE_NAMES[agent.state],
        "since": agent.state_since.isoformat(timespec="seconds"),
        "paused_reason": agent.paused_reason,
        "consecutive_misses": agent.consecutive_misses,
        "last_call_ended_at": None if ended is None else ended.isoformat(timespec="seconds"),
    }


def _shown(agent: AgentRecord) -> str:
    reason = f" ({agent.paused_reason})" if agent.paused_reason else ""
    return f"{agent.state.value}{reason}"
