"""Bench 2: sustained Originates per second with ~200 concurrent calls on one real Asterisk.

The limit is a bare panoramisk loop that only originates: it keeps ``concurrency`` calls up
(a new Originate as soon as one hangs up), sending byte for byte the Originate the adapter
builds, to the same doubles (agent: answers, 1 s, presses 1; customer: answers, stays a few
seconds). Then the full service (push intake → SQLite store → Dispatcher → AmiTelephony)
with as many agents and lines does the same work. Both rates are counted over the same
steady window after a warm-up. "Zero lost": every Originate got its OriginateResponse and
its agent-leg Hangup (bare loop) / every attempt ended with a report (service), and
Asterisk's full log ran the dialer context exactly once per attempt.

While the bare loop runs, a second AMI login records the raw event stream for bench 3.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from panoramisk import Manager
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bench.common import Asterisk, Outcome, Row, percentile
from bench.service_run import Service, agent_ids, customer_orders, seed_shop, write_config
from campaigns.calls import OriginateRequest
from dialer.ami.telephony import AmiSettings, AmiTelephony
from dialer.storage.models import AttemptRow

TARGET_RATE = 20.0
TARGET_SHARE = 0.8
_RAN = "app_verbose.c: dialer attempt "


@dataclass(frozen=True)
class Plan:
    concurrency: int
    warmup_s: float
    window_s: float
    stay_s: int  # the customer double stays this long

    @classmethod
    def for_run(cls, quick: bool) -> Plan:
        return cls(200, 6.0, 12.0 if quick else 30.0, 4)


def _request(agent: str, number: str, order: str) -> OriginateRequest:
    return OriginateRequest(
        attempt_id=str(uuid.uuid4()),
        order_id=order,
        agent=agent,
        customer_number=number,
        announce_digits=order,
        ring_timeout_s=10,
        accept_timeout_s=5,
        agent_channel_template="Local/{agent}@dialer-test-agents",
        customer_channel_template="Local/{number}@dialer-test-customers/n",
    )


async def _record(ast: Asterisk, path: Path, stop: asyncio.Event) -> int:
    """Raw bytes of every event Asterisk sends to a logged-in AMI user, until ``stop``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", ast.ami_port)
    login = (
        f"Action: Login\r\nUsername: {ast.username}\r\nSecret: {ast.secret}\r\nEvents: on\r\n\r\n"
    )
    writer.write(login.encode())
    size = 0
    with path.open("wb") as out:
        while not stop.is_set():
            try:
                data = await asyncio.wait_for(reader.read(1 << 16), 0.5)
            except TimeoutError:
                continue
            if not data:
                break
            out.write(data)
            size += len(data)
    writer.close()
    return size


async def bare_loop(  # noqa: PLR0915 - one straight measuring loop
    ast: Asterisk, plan: Plan, record: Path | None
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    settings = AmiSettings(port=ast.ami_port, secret=ast.secret, agent_ring_timeout_s=10)
    builder = AmiTelephony(settings, lambda _: None, clock=lambda: datetime.now(UTC))
    manager = Manager(
        loop=loop,
        host="127.0.0.1",
        port=ast.ami_port,
        username=ast.username,
        secret=ast.secret,
        forgetable_actions=("ping", "login", "originate"),
        ping_delay=10**7,
        ping_interval=10**7,
    )
    live: set[str] = set()
    hung_up: set[str] = set()
    responses: Counter[str] = Counter()
    sent_at: dict[str, float] = {}
    rtt: list[float] = []
    slot = asyncio.Semaphore(plan.concurrency)

    def on_hangup(_: Any, event: Any) -> None:
        uid = event.get("Uniqueid", "")
        if uid in live:
            live.discard(uid)
            hung_up.add(uid)
            slot.release()

    manager.register_event("Hangup", on_hangup)
    await manager.connect()
    while not getattr(manager, "authenticated", False):
        await asyncio.sleep(0.05)
    stop_recording = asyncio.Event()
    recorder = asyncio.create_task(_record(ast, record, stop_recording)) if record else None

    def on_reply(attempt: str, done: asyncio.Future[Any]) -> None:
        rtt.append(time.monotonic() - sent_at[attempt])
        replies = done.result() if not done.cancelled() and not done.exception() else []
        for message in replies if isinstance(replies, list) else [replies]:
            if message.get("Event") == "OriginateResponse":
                responses[message.get("Reason", "?")] += 1

    start = time.monotonic()
    window = (start + plan.warmup_s, start + plan.warmup_s + plan.window_s)
    in_window = 0
    sent = 0
    while time.monotonic() < window[1]:
        await slot.acquire()
        now = time.monotonic()
        if now >= window[1]:
            slot.release()
            break
        request = _request(f"{100 + sent % 800:03d}1", f"+7916{sent % 100000:05d}{plan.stay_s}1",
                           str(1_000_000 + sent))  # fmt: skip
        action = builder._originate_action(request)
        live.add(request.attempt_id)
        sent_at[request.attempt_id] = now
        future = manager.send_action(action)
        future.add_done_callback(lambda d, a=request.attempt_id: on_reply(a, d))
        sent += 1
        if window[0] <= now:
            in_window += 1
    drain_until = time.monotonic() + plan.stay_s + 20
    while live and time.monotonic() < drain_until:
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)
    stop_recording.set()
    recorded = await recorder if recorder else 0
    manager.close()
    return {
        "sent": sent,
        "in_window": in_window,
        "rate": in_window / plan.window_s,
        "originate_responses": sum(responses.values()),
        "reasons": dict(responses),
        "hung_up": len(hung_up),
        "still_live": len(live),
        "originate_rtt_ms_p50": 1000 * percentile(rtt, 50) if rtt else None,
        "originate_rtt_ms_p99": 1000 * percentile(rtt, 99) if rtt else None,
        "recorded_bytes": recorded,
    }


def service_run(ast: Asterisk, plan: Plan, bare_rate: float, tmp: Path) -> dict[str, Any]:
    supply = int(max(bare_rate, TARGET_RATE) * (plan.warmup_s + plan.window_s) * 1.3) + 400
    orders = customer_orders(supply, 2_000_000, plan.stay_s)
    shop = seed_shop(tmp / "shop.db", orders, datetime.now(UTC))
    db_url = f"sqlite:///{tmp}/dialer.db"
    config = write_config(
        tmp,
        ast,
        shop,
        agents=agent_ids(plan.concurrency),
        service={"cps": 1000, "campaign_lines": plan.concurrency,
                 "trunk_lines": plan.concurrency},
    )  # fmt: skip
    service = Service(config, db_url, ast)
    try:
        for i in range(0, len(orders), 400):
            service.push(orders[i : i + 400], f"bench-orig-{i}")
        time.sleep(plan.warmup_s + plan.window_s + 3)
        stopped = service.stop()
        dials = service.dials()
    finally:
        service.kill()
    times = sorted(at for at, _ in dials.values())
    if not times:
        raise RuntimeError("the service dialled nothing")
    first = times[0].timestamp()
    lo, hi = first + plan.warmup_s, first + plan.warmup_s + plan.window_s
    in_window = sum(1 for t in times if lo <= t.timestamp() < hi)
    engine = create_engine(db_url)
    with Session(engine) as session:
        attempts = list(session.scalars(select(AttemptRow)))
    engine.dispose()
    results = Counter(a.result or "live" for a in attempts)
    full = ast.full_log()
    ran: Counter[int] = Counter()
    for a in attempts:
        ran[full.count(f"{_RAN}{a.id} agent answered")] += 1
    return {
        "orders_pushed": len(orders),
        "dialled": len(dials),
        "in_window": in_window,
        "rate": in_window / plan.window_s,
        "exit_code": stopped,
        "attempts": len(attempts),
        "results": dict(results),
        "asterisk_ran_context_times": {str(k): v for k, v in ran.items()},
        "lost_report": sum(1 for a in attempts if a.ended_at is None)
        + sum(1 for a in attempts if a.detail and "lost" in a.detail),
    }


def run(ast: Asterisk, quick: bool, record: Path | None) -> Outcome:
    plan = Plan.for_run(quick)
    bare = asyncio.run(bare_loop(ast, plan, record))
    bare_full = ast.full_log()
    bare["asterisk_ran_context"] = bare_full.count(_RAN)
    with tempfile.TemporaryDirectory(prefix="bench-orig-") as tmp:
        full = service_run(ast, plan, bare["rate"], Path(tmp))
    bare_lost = bare["sent"] - min(bare["originate_responses"], bare["hung_up"])
    lost_service = full["lost_report"] + sum(
        v for k, v in full["asterisk_ran_context_times"].items() if k != "1"
    )
    rows = [
        Row("originate", "bare panoramisk loop", bare["rate"], "orig/s", TARGET_RATE,
            "target rate", f"limit ≥ {TARGET_RATE:.0f}/s", bare["rate"] >= TARGET_RATE),
        Row("originate", "service (SQLite)", full["rate"], "orig/s", bare["rate"],
            "bare loop", f"≥ {TARGET_SHARE:.0%} of bare and ≥ {TARGET_RATE:.0f}/s",
            full["rate"] >= TARGET_SHARE * bare["rate"] and full["rate"] >= TARGET_RATE),
        Row("originate", "lost (bare; service)", bare_lost + lost_service, "attempts",
            bare["sent"] + full["attempts"], "attempts made", "0 lost",
            bare_lost == 0 and lost_service == 0),
    ]  # fmt: skip
    return Outcome("originate", rows, {"plan": plan.__dict__, "bare": bare, "service": full})
