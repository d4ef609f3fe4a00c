"""Which orders an agent's session may read and act on (issue 15 §2), as a pure rule.

An agent may reach an order only while it is theirs: the order's current attempt was
offered to them (the order is being dialled, or answered and awaiting their verdict), or
they own its callback («мой перезвон», the order's ``callback_owner``) and it is not done.
Anything else, an unknown order included, is refused alike, so ids cannot be probed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DIALING, AWAITING = "dialing", "awaiting_disposition"
_CURRENT = (DIALING, AWAITING)


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What the rule looks at: the phase, the current attempt's agent, the callback's owner."""

    phase: str
    current_agent: str | None
    owner: str | None = None


def may_access(agent_id: str, facts: OrderFacts | None) -> bool:
    """True when the agent may read and act on the order (None: no such order)."""
    if facts is None:
        return False
    if facts.owner is not None and facts.owner == agent_id and facts.phase != "done":
        return True
    return facts.phase in _CURRENT and facts.current_agent == agent_id


def facts_of(order: Mapping[str, Any] | None, *, owner: str | None = None) -> OrderFacts | None:
    """The facts of an order as the read model shows it (``OrderViews.detail``): while it is
    dialled, the live attempt's agent; while it awaits a verdict, the last attempt's."""
    if order is None:
        return None
    phase = str(order.get("phase"))
    attempts: Sequence[Mapping[str, Any]] = order.get("attempts") or ()
    current = None
    if phase == DIALING:
        current = next((a for a in attempts if a.get("id") == order.get("live_attempt")), None)
    elif phase == AWAITING and attempts:
        current = attempts[-1]
    agent = None if current is None else current.get("agent")
    stored = order.get("callback_owner")
    owner = owner if owner is not None else None if stored is None else str(stored)
    return OrderFacts(phase, None if agent is None else str(agent), owner)
