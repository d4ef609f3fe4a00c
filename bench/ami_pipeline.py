"""Bench 3: AMI events per second through our parsing and tracking, against panoramisk's
raw parse of the same recorded bytes.

The stream is recorded from a real Asterisk (bench 2's bare loop, or a short run of its
own): every byte a logged-in AMI user received, calls through the doubles included. Replay
feeds it in the same 64 KiB chunks to
* raw: panoramisk's ``AMIProtocol`` under a plain ``Manager`` with no callbacks (split,
  ``Message`` objects, dispatch to nobody);
* ours: the adapter's ``_Utf8Protocol`` under its ``_Link``, with ``AmiTelephony``'s
  handlers registered and every attempt of the stream adopted, so matching, facts,
  ``classify`` and the reports all run. Each attempt must be reported exactly once.
Best of ``repeats`` for each, interleaved.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol

from bench.common import Asterisk, Outcome, Row
from bench.originate import Plan, bare_loop
from campaigns.calls import CallReport, OriginateRequest
from dialer.ami.link import _Utf8Protocol
from dialer.ami.telephony import AmiSettings, AmiTelephony

TARGET_SHARE = 0.5
CHUNK = 1 << 16
_ATTEMPT = re.compile(rb"DIALER_ATTEMPT=([0-9a-f-]{36})")


class _Transport:
    def write(self, data: bytes) -> None:
        del data

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


def _feed(protocol: Any, factory: Any, chunks: list[bytes]) -> float:
    protocol.connection_made(_Transport())
    protocol.factory = factory
    protocol.encoding = "utf8"
    started = time.perf_counter()
    for chunk in chunks:
        protocol.data_received(chunk)
    return time.perf_counter() - started


async def _raw(chunks: list[bytes]) -> tuple[float, int]:
    manager = Manager(loop=asyncio.get_running_loop(), ping_delay=10**7)
    seen = Counter[str]()
    original = manager.dispatch

    def counting(event: Any) -> Any:
        seen["events"] += 1
        return original(event)

    manager.dispatch = counting
    seconds = _feed(AMIProtocol(), manager, chunks)
    return seconds, seen["events"]


async def _ours(chunks: list[bytes], attempts: list[str]) -> tuple[float, list[CallReport]]:
    reports: list[CallReport] = []
    settings = AmiSettings(port=1, secret="replay")  # noqa: S106 - never connects
    telephony = AmiTelephony(settings, reports.append, clock=lambda: datetime.now(UTC))
    at = datetime.now(UTC)
    for attempt in attempts:
        request = OriginateRequest(attempt, "1", "1001", "+79160000011", "", 10, 5)
        telephony.adopt(request, at)
    await telephony.start()
    supervisor = telephony._link_supervisor.task
    if supervisor is not None:
        supervisor.cancel()  # replay only: no connection to anything
    link = telephony._link
    seconds = _feed(_Utf8Protocol(), link, chunks)
    await telephony.close()
    return seconds, reports


def _ended(data: bytes, attempts: set[str]) -> set[str]:
    """Attempts whose agent leg (Uniqueid = attempt id) hangs up inside the stream: each
    must be reported exactly once; the others were cut off by the recording's ends."""
    found = set()
    for block in data.split(b"\r\n\r\n"):
        if block.startswith(b"Event: Hangup\r\n"):
            match = re.search(rb"\r\nUniqueid: ([0-9a-f-]{36})\r\n", block)
            if match and match.group(1).decode() in attempts:
                found.add(match.group(1).decode())
    return found


def _chunks(data: bytes) -> list[bytes]:
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


def record(ast: Asterisk, path: Path) -> None:
    asyncio.run(bare_loop(ast, Plan(60, 0.0, 6.0, 1), path))


def run(stream: Path, quick: bool) -> Outcome:
    data = stream.read_bytes()
    limit = (6 if quick else 24) << 20
    if len(data) > limit:
        data = data[: data.rfind(b"\r\n\r\n", 0, limit) + 4]
    attempts = sorted({m.decode() for m in _ATTEMPT.findall(data)})
    ended = _ended(data, set(attempts))
    chunks = _chunks(data)
    raw_best = ours_best = float("inf")
    events = 0
    reports: list[CallReport] = []
    for _ in range(2 if quick else 5):
        raw_s, events = asyncio.run(_raw(chunks))
        ours_s, reports = asyncio.run(_ours(chunks, attempts))
        raw_best, ours_best = min(raw_best, raw_s), min(ours_best, ours_s)
    raw_rate, ours_rate = events / raw_best, events / ours_best
    reported = Counter(r.attempt_id for r in reports)
    results = Counter(r.result.value for r in reports)
    complete = set(reported) == ended and all(v == 1 for v in reported.values())
    details = {
        "bytes": len(data),
        "events": events,
        "attempts_in_stream": len(attempts),
        "attempts_ended_in_stream": len(ended),
        "reports": len(reports),
        "results": dict(results),
        "raw_s": raw_best,
        "ours_s": ours_best,
    }
    rows = [
        Row("ami_pipeline", "events/s, adapter parse+track", ours_rate, "ev/s", raw_rate,
            "panoramisk raw parse", f"≥ {TARGET_SHARE:.0%} of raw, every attempt reported once",
            ours_rate >= TARGET_SHARE * raw_rate and complete),
    ]  # fmt: skip
    return Outcome("ami_pipeline", rows, details)
