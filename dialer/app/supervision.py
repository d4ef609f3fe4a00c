"""Listen, whisper and barge (issue 19): a supervisor hears a live call on their own phone.

The rule is pure (``parse_mode``, ``SPY_OPTIONS``); ``Supervision`` applies it: the call must
be a live attempt of this campaign, the caller a signed-in supervisor with an extension, and
the server carrying the call (``CallSpy``: the node's ``SlotSpy`` over its AMI adapters, a
fake in unit tests) must accept it. Every use, accepted or refused, is written to the audit
log with who asked, whose call (agent, order, attempt), when and which mode.

    ChanSpy options   listen  qE     quiet (no beep), hang up when the spied call ends
                      whisper qwE    + the supervisor speaks to the agent only
                      barge   qBE    + the supervisor speaks to both (agent and customer)
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from dialer.ami.dial_gate import AGENT as CALL_ID  # ids looked up, never dialled
from dialer.ami.settings import AmiError
from dialer.app.operations import ConflictError, InvalidRequestError, NotFoundError
from dialer.app.server_slot import ServerSlot
from dialer.storage.audit import AuditEntry, SqlAuditLog
from dialer.storage.supervisors import SqlSupervisors, UnknownSupervisorError


class Mode(enum.Enum):
    LISTEN = "listen"
    WHISPER = "whisper"
    BARGE = "barge"


SPY_OPTIONS = {Mode.LISTEN: "qE", Mode.WHISPER: "qwE", Mode.BARGE: "qBE"}


def parse_mode(value: Any) -> Mode:
    """The mode named by ``value``, else InvalidRequestError naming ``mode``."""
    for mode in Mode:
        if value == mode.value:
            return mode
    names = ", ".join(m.value for m in Mode)
    raise InvalidRequestError(f"mode: one of {names}, got {value!r}"[:200], "mode")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks: a supervisor (``kind`` "supervisor", their id) or an API token (its name)."""

    name: str
    kind: str  # "supervisor" | "token"


class SpyRefused(Exception):
    """The server carrying the call cannot spy on it now; the message says why."""


class CallSpy(Protocol):
    def spy(self, attempt_id: str, extension: str, options: str) -> None:
        """Ring ``extension`` and spy on the call ``attempt_id`` with ``options``, else
        SpyRefused."""


class Supervision:
    """Listen, whisper and barge, audited."""

    def __init__(
        self,
        *,
        live_calls: Callable[[], Iterable[dict[str, Any]]],
        supervisors: SqlSupervisors,
        audit: SqlAuditLog,
        spy: CallSpy,
        clock: Callable[[], datetime],
    ) -> None:
        self._live, self._supervisors, self._audit = live_calls, supervisors, audit
        self._spy, self._clock = spy, clock

    def listen(self, actor: Actor, attempt_id: str, mode_value: Any) -> dict[str, Any]:
        """Spy on the live call ``attempt_id`` in the mode named ``mode_value``; what was
        done. NotFoundError for a text no attempt id can be, InvalidRequestError for a bad
        mode (neither is audited: nothing was asked of a call); ConflictError, audited, when
        the call is not live here or the caller has no extension."""
        if not CALL_ID.fullmatch(attempt_id):
            raise NotFoundError("no such call: not an attempt id", "attempt_id")
        mode = parse_mode(mode_value)
        call = next((c for c in self._live() if c.get("id") == attempt_id), None)
        entry = AuditEntry(self._clock(), actor.name, actor.kind, mode.value, "refused",
                           attempt_id=attempt_id,
                           order_id=None if call is None else call.get("order_id"),
                           agent_id=None if call is None else call.get("agent"))  # fmt: skip
        try:
            if call is None:
                raise ConflictError(f"call {attempt_id} is not live (it ended, or it is "
                                    "not a call of this service's campaigns)",
                                    "attempt_id")  # fmt: skip
            extension = self._extension(actor)
            try:
                self._spy.spy(attempt_id, extension, SPY_OPTIONS[mode])
            except SpyRefused as exc:
                raise ConflictError(str(exc), "attempt_id") from None
        except ConflictError as exc:
            self._audit.write(_with(entry, "refused", str(exc)))
            raise
        self._audit.write(_with(entry, "accepted", f"ringing extension {extension}"))
        return {"attempt_id": attempt_id, "mode": mode.value, "extension": extension,
                "agent": entry.agent_id, "order_id": entry.order_id,
                "status": "ringing"}  # fmt: skip

    def _extension(self, actor: Actor) -> str:
        if actor.kind != "supervisor":
            raise ConflictError("only a signed-in supervisor can listen: an API token has "
                                "no phone to ring", "extension")  # fmt: skip
        try:
            extension = self._supervisors.get(actor.name).extension
        except UnknownSupervisorError:
            extension = None
        if not extension:
            raise ConflictError(f"supervisor {actor.name} has no extension: set one with "
                                "'callback-dialer supervisors set --extension'",
                                "extension")  # fmt: skip
        return extension

    def record(self, actor: Actor, action: str, *, detail: str | None = None) -> None:
        """Audit a sign-in or sign-out."""
        self._audit.write(AuditEntry(self._clock(), actor.name, actor.kind, action,
                                     "accepted", detail=detail))  # fmt: skip

    def now(self) -> datetime:
        return self._clock()

    def entries(self, since: datetime | None, until: datetime | None) -> list[AuditEntry]:
        return self._audit.entries(since, until)


def parse_bound(value: str, name: str, zone: ZoneInfo, *, end: bool) -> datetime:
    """A date (midnight in ``zone``; with ``end``, the next midnight: the day is included)
    or an ISO 8601 instant with its offset; else InvalidRequestError naming ``name``."""
    try:
        if len(value) == 10:  # noqa: PLR2004 - YYYY-MM-DD
            day = date.fromisoformat(value) + timedelta(days=1 if end else 0)
            return datetime.combine(day, time(), zone)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise InvalidRequestError(f"{name}: expected YYYY-MM-DD or ISO 8601 with a UTC "
                                  f"offset, got {value[:40]!r}", name)  # fmt: skip
    return parsed


def _with(entry: AuditEntry, result: str, detail: str) -> AuditEntry:
    return AuditEntry(entry.at, entry.actor, entry.actor_kind, entry.action, result,
                      entry.attempt_id, entry.order_id, entry.agent_id, detail)  # fmt: skip


class SlotSpy:
    """``CallSpy`` over the node's servers: the call is spied on through the AMI adapter of
    the server that carries it. A call carried by another node is refused (ask that node)."""

    def __init__(self, slots: Iterable[ServerSlot]) -> None:
        self._slots = slots

    def spy(self, attempt_id: str, extension: str, options: str) -> None:
        for slot in self._slots:
            if attempt_id not in slot.telephony.pending_attempts():
                continue
            template = slot.dispatcher.settings.agent_channel_template
            try:
                slot.telephony.spy(attempt_id, extension, options, template)
            except AmiError as exc:
                raise SpyRefused(str(exc)) from None
            return
        raise SpyRefused(f"call {attempt_id} is not carried by this node (another node's "
                         "server, or it just ended)")  # fmt: skip
