"""The dispatcher's journal as log lines: one per dial, result and outcome."""

from __future__ import annotations

import logging
from datetime import datetime

from campaigns.outcomes import Outcome
from campaigns.window import zone
from dialer.dispatch.ports import AttemptRecord, QueueEntry

log = logging.getLogger("dialer.service")


class LogJournal:
    """The dispatcher's journal as log lines (one per dial, result and outcome)."""

    def dial(self, entry: QueueEntry, attempt: AttemptRecord, at: datetime) -> None:
        local = at.astimezone(zone(entry.state.zones[0]))
        log.info(
            "dial order %s attempt %d agent %s number %s local %s id %s",
            entry.order.id, attempt.number, attempt.agent, attempt.e164,
            local.strftime("%H:%M %Z"), attempt.id,
        )  # fmt: skip

    def result(self, entry: QueueEntry, attempt: AttemptRecord) -> None:
        result = attempt.result.value if attempt.result else "?"
        log.info(
            "result order %s attempt %d agent %s: %s (%s) id %s",
            entry.order.id, attempt.number, attempt.agent, result, attempt.detail, attempt.id,
        )  # fmt: skip

    def outcome(self, outcome: Outcome) -> None:
        log.info(
            "outcome order %s: %s attempt %d «%s»",
            outcome.order_id, outcome.kind.value, outcome.attempt_no, outcome.comment,
        )  # fmt: skip
