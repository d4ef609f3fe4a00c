"""What the fault tests read back: Originates in Asterisk's own log, times in the service's
log, and the accounting checks both fault tests share."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime

from service_harness import Attempt, DialerDb

TRACED_AGENTS = "Local/{agent}@dialer-test-traced-agents"
_REACHED = re.compile(r"app_verbose\.c: dialer-test originate (\S+) reached agent")
_REFUSED = re.compile(r"Channel Unique ID '([^']+)' already in use")
_LOST = re.compile(r"result order \S+ .*: failed \(.*outcome lost\) id (\S+)")
_NOT_SENT = re.compile(
    r"result order \S+ .*: failed \((?:Originate refused|not dialled): .*\) id (\S+)"
)
_SERVICE_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z ", re.MULTILINE)
SETTLED_PHASES = {"queued", "done"}


def originates_in_log(full_log: str) -> Counter[str]:
    """Originates Asterisk acted on, by ChannelId (= attempt id): each one that created the
    agent's channel (the traced agents' context logs it), plus each one Asterisk refused
    because a live channel already had that ChannelId."""
    reached = Counter(_REACHED.findall(full_log))
    reached.update(_REFUSED.findall(full_log))
    return reached


def times_of(service_log: str, pattern: str) -> list[datetime]:
    """The UTC times of the service's log lines matching ``pattern``."""
    found = []
    for line in service_log.splitlines():
        stamp = _SERVICE_LINE.match(line)
        if stamp and re.search(pattern, line):
            found.append(datetime.fromisoformat(stamp.group(1)).replace(tzinfo=UTC))
    return found


def first_after(times: list[datetime], moment: datetime) -> datetime:
    later = [t for t in times if t >= moment]
    assert later, f"nothing after {moment:%H:%M:%S.%f}"
    return later[0]


def unsettled(dialer: DialerDb, order_ids: list[str]) -> dict[str, str]:
    """Orders stuck in claimed/dialing/awaiting a verdict, with their phase."""
    phases = {order_id: dialer.order(order_id)[0] for order_id in order_ids}
    return {o: p for o, p in phases.items() if p not in SETTLED_PHASES}


def double_originates(wire: list[str], log: Counter[str]) -> dict[str, int]:
    """ChannelIds sent or acted on more than once (on the wire, in Asterisk's log)."""
    on_wire = Counter(wire)
    ids = set(on_wire) | set(log)
    return {i: max(on_wire[i], log[i]) for i in ids if max(on_wire[i], log[i]) > 1}


def without_originate(attempts: list[Attempt], log: Counter[str]) -> list[Attempt]:
    return [a for a in attempts if log[a.id] == 0]


def lost_ids(service_log: str) -> set[str]:
    """Attempts the service reported failed because their outcome was lost."""
    return set(_LOST.findall(service_log))


def refused_ids(service_log: str) -> set[str]:
    """Attempts whose Originate Asterisk refused (e.g. while shutting down) or that were
    never sent (AMI not ready in time): no channel was made for them."""
    return set(_NOT_SENT.findall(service_log))
