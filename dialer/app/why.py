"""«Почему не звоним?» for the running campaign: reads the order and the live facts, asks the
pure ``campaigns.why.explain``, and audits each look-up made through the API (issue 19)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from campaigns.settings import CampaignSettings
from campaigns.timezones import NumberingLookup
from campaigns.why import Explanation, LiveFacts, explain
from dialer.app.operations import NotFoundError
from dialer.app.supervision import Actor
from dialer.storage.audit import AuditEntry, SqlAuditLog
from dialer.storage.why import SqlWhyReads

ACTION = "why"  # the audit log's action name


@dataclass(frozen=True, slots=True)
class WhyLive:
    """What only the running node knows: its campaign line cap and the CRM status re-check's
    hold on an order ("asked", "failed" or None). Both None: not known (the CLI)."""

    line_cap: int | None = None
    held: Callable[[str], str | None] | None = None


class WhyService:
    """One order's explanation; NotFoundError naming the id when the campaign has none."""

    def __init__(
        self,
        reads: SqlWhyReads,
        *,
        settings: Callable[[], CampaignSettings],
        clock: Callable[[], datetime],
        numbering: NumberingLookup | None = None,
        live: WhyLive | None = None,
        audit: SqlAuditLog | None = None,
    ) -> None:
        self._reads, self._settings, self._clock = reads, settings, clock
        self._numbering, self._live, self._audit = numbering, live or WhyLive(), audit

    def explain(self, order_id: str, actor: Actor | None = None) -> Explanation:
        """The explanation at the clock's now; with ``actor`` (an API caller), audited."""
        now = self._clock()
        found = self._reads.order(order_id)
        if found is None:
            raise NotFoundError(f"unknown order {order_id!r}", "id")
        stored, claimed = found
        answer = explain(stored, self._settings(), self._facts(order_id, claimed, now), now,
                         numbering=self._numbering)  # fmt: skip
        if actor is not None and self._audit is not None:
            self._audit.write(AuditEntry(now, actor.name, actor.kind, ACTION, "accepted",
                                         order_id=order_id, detail=answer.state))  # fmt: skip
        return answer

    def _facts(self, order_id: str, claimed: bool, now: datetime) -> LiveFacts:
        paused, reason = self._reads.campaign_pause()
        signed_in, free = self._reads.agents()
        held = self._live.held(order_id) if self._live.held is not None else None
        return LiveFacts(
            paused=paused,
            paused_reason=reason,
            agents_signed_in=signed_in,
            agents_free=free,
            lines_in_use=self._reads.lines_in_use(),
            line_cap=self._live.line_cap,
            recheck=held,
            queue_ahead=self._reads.queue_ahead(order_id, now),
            claimed=claimed,
        )
