"""Bench sip_legs: the dialer's calls with real SIP legs beside the Local-channel doubles, on
one Asterisk instance, to size a server (issue 16 §4).

One instance started with ``--sip-port``/``--carrier-port`` (PJSIP from the shipped
pjsip.conf). Appended to the instance's rendered ``etc/pjsip.conf`` (the shipped file is not
changed): ``concurrency`` agents ``2001, 2011, …`` made from the shipped ``agent-template``,
``aor-template`` and ``auth-template``, each with a password of this run, then
``module reload res_pjsip.so``. SIPp plays
* the agents' phones: one UAS (``tests/sip/agents/agent-rfc4733.xml``, ``-aa`` for qualify)
  is the contact of every agent; it answers, presses 1 as RFC 4733 events 1 s after the
  answer, sends speech and stays on until Asterisk's BYE;
* their registrations: one UAC run of ``register.xml`` with an injection CSV of user names
  and passwords (digest auth), then every contact must be ``Avail`` (qualified);
* the carrier: one UAS on 127.0.0.2 (``tests/sip/carrier/answer.xml``): 100, 180, 1 s, 200
  with G.711 A-law RTP from SIPp's pcap, BYE after ``talk_s``.
The Local doubles do the same: agent ``Local/{agent}@dialer-test-agents`` (answers, 1 s,
presses 1), customer ``Local/{number}@bench-sip-legs-customers/n``, a context appended to
the instance's dialplan that rings (``Ringing()``) 1 s, answers and hangs up after
``talk_s`` — the carrier's timeline, so both runs hold a call equally long.

Calls go through the dialer's own adapter (``AmiTelephony``): ``concurrency`` attempts are
kept up (a new one on an idle agent as soon as a report arrives), first with the Local
doubles, then with the SIP legs. Counted over the same steady window after a warm-up:
1. throughput: reports (completed attempts) per second;
2. accept → customer ringing: Asterisk's own time stamps (``timestampevents``, set in the
   instance's manager.conf) on a second AMI login, from the dialplan's ``DialerAccepted``
   UserEvent to the first ``DialState`` with ``DialStatus: RINGING`` of the same Linkedid
   (the attempt id): over SIP that is the carrier's 180 reaching the Dial(), over Local the
   double's ``Ringing()``; p50/p95 of the attempts accepted inside the window;
3. Asterisk's CPU: utime+stime of the Asterisk process (/proc/<pid>/stat, all threads) over
   the window ÷ wall time ÷ the mean number of live attempts (sampled every 100 ms) → % of
   one core per concurrent call, and 100 % ÷ that = concurrent calls one core carries; also
   CPU seconds ÷ attempts completed in the window (the cost that scales with the dial rate).
The Local run is the limit each SIP figure is compared with: the same dialplan, the same
adapter, the same hold times, without SIP signalling or RTP. Zero lost: every attempt
originated must end with a report (counted per run, with its results); attempts not
answered are counted and named, and their agent waits 1 s before its next call.

Asterisk runs with an /etc/hosts naming this machine (``asterisk(..., hosts_file=True)``):
without it every new RTP instance asks DNS for the host name, and 5 s resolver timeouts
stalled PJSIP here (bench/RESULTS.md, "SIP legs"). Per run the JSON also keeps SIPp's
final message counts, the bridges' technology mid-window and the longest PJSIP task.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from statistics import fmean
from typing import Any

from bench.common import ROOT, Asterisk, Outcome, Row, asterisk, free_udp_port, percentile
from campaigns.calls import CallReport, OriginateRequest
from dialer.ami.telephony import AmiSettings, AmiTelephony

HOST = "127.0.0.1"
CARRIER_HOST = "127.0.0.2"
PCAPS = Path("/usr/share/sip-tester")  # Debian sip-tester: SIPp's DTMF and speech captures
AGENT_SCENARIO = ROOT / "tests" / "sip" / "agents" / "agent-rfc4733.xml"
REGISTER_SCENARIO = ROOT / "tests" / "sip" / "agents" / "register.xml"
CARRIER_SCENARIO = ROOT / "tests" / "sip" / "carrier" / "answer.xml"
CUSTOMERS_CONTEXT = "bench-sip-legs-customers"
SIP_AGENT = "PJSIP/{agent}"
SIP_CUSTOMER = "PJSIP/{number}@trunk"
LOCAL_AGENT = "Local/{agent}@dialer-test-agents"
LOCAL_CUSTOMER = f"Local/{{number}}@{CUSTOMERS_CONTEXT}/n"
RING_S = 1  # the carrier (answer.xml) and the Local customer ring this long before answering


@dataclass(frozen=True)
class Plan:
    concurrency: int  # live attempts kept up; as many agents
    warmup_s: float
    window_s: float
    talk_s: int  # the customer talks this long after answering (carrier and Local double)

    @classmethod
    def for_run(cls, quick: bool) -> Plan:
        """10 live calls for 20 s (quick) or 30 for 60 s; ``BENCH_SIP_LEGS_CALLS=N`` sets the
        number of live calls (and agents) of either."""
        plan = cls(10, 8.0, 20.0, 3) if quick else cls(30, 10.0, 60.0, 3)
        calls = os.environ.get("BENCH_SIP_LEGS_CALLS")
        return replace(plan, concurrency=int(calls)) if calls else plan


# ---- what is appended to the instance, and SIPp's files (pure: tested) -------------------


def agents(count: int) -> list[str]:
    """Agent ids ending in 1 (the Local double that answers and presses 1), also the SIP
    endpoint names: 2001, 2011, … (none of them is a shipped agent 101-103)."""
    return [f"{200 + i:03d}1" for i in range(count)]


def pjsip_agents(passwords: Mapping[str, str]) -> str:
    """Endpoint, aor and auth sections per agent, from the shipped pjsip.conf's templates."""
    return "".join(
        f"\n[{a}](agent-template)\nauth = {a}\naors = {a}\n[{a}](aor-template)\n"
        f"[{a}](auth-template)\nusername = {a}\npassword = {pw}\n"
        for a, pw in passwords.items()
    )


def injection_csv(passwords: Mapping[str, str]) -> str:
    """SIPp's -inf file: one REGISTER per line, the user name and its whole authentication
    keyword (SIPp 3.6 corrupts ``[authentication username=[field0] …]`` written in the
    scenario, but expands a keyword that a field holds)."""
    return "SEQUENTIAL\n" + "".join(
        f"{a};[authentication username={a} password={pw}];\n" for a, pw in passwords.items()
    )


def register_scenario() -> str:
    """The tests' register.xml with the user and its digest credentials from the CSV."""
    text = REGISTER_SCENARIO.read_text(encoding="utf-8")
    if "[agent]" not in text or "[authentication]" not in text:
        raise ValueError(f"{REGISTER_SCENARIO} no longer has [agent] and [authentication]")
    return text.replace("[agent]", "[field0]").replace("[authentication]", "[field1]")


def carrier_scenario(talk_s: int) -> str:
    """The tests' answer.xml with SIPp's A-law pcap and the talk time filled in."""
    text = CARRIER_SCENARIO.read_text(encoding="utf-8")
    text = text.replace("@AUDIO@", str(PCAPS / "g711a.pcap"))
    return text.replace("@TALK_MS@", str(talk_s * 1000))


def customers_dialplan(talk_s: int) -> str:
    """The Local customer with the carrier's timeline: rings 1 s, answers, talks, hangs up."""
    return (
        f"\n[{CUSTOMERS_CONTEXT}]\n"
        "exten => _X.,1,Ringing()\n"
        " same => n,Wait(1)\n"
        " same => n,Answer()\n"
        f" same => n,Wait({talk_s})\n"
        " same => n,Hangup()\n"
    )


def parse_cpu_ticks(stat: str) -> int:
    """utime + stime (clock ticks, all threads) from the text of /proc/<pid>/stat."""
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)


_SCREEN_ROW = re.compile(r"^\s*(-+>|<-+)\s+(\S+)\s+(?:E-RTD\d\s+)?(\d+)\s+(\d+)", re.MULTILINE)


def sipp_counts(screen: str) -> dict[str, list[int]]:
    """From the last scenario screen SIPp printed (at exit): per message, how many were
    received (``in``) or sent (``out``) and retransmitted, e.g. ``{"in INVITE": [60, 0]}``."""
    last = screen.rfind("Messages  Retrans")
    counts: dict[str, list[int]] = {}
    for arrow, message, total, retrans in _SCREEN_ROW.findall(screen[last:] if last >= 0 else ""):
        key = f"{'in' if arrow.endswith('>') else 'out'} {message}"
        counts.setdefault(key, [int(total), int(retrans)])
    return counts


def bridge_technologies(shown: str) -> dict[str, int]:
    """``bridge show all``: how many bridges use each technology (the column before the
    duration: ``Bridge-ID Name Chans Type Technology Duration``)."""
    found: Counter[str] = Counter()
    for line in shown.splitlines():
        cells = line.split()
        if len(cells) >= 5 and re.fullmatch(r"\d+:\d\d:\d\d", cells[-1]):
            found[cells[-2]] += 1
    return dict(found)


def pjsip_task_max_ms(shown: str) -> float | None:
    """``core show taskprocessors``: the longest task any PJSIP serializer of the task pool
    has run since Asterisk started (its last column, microseconds), in ms."""
    times = [
        int(line.split()[-1])
        for line in shown.splitlines()
        if line.startswith("taskpool/s:pjsip") and line.split()[-1].isdigit()
    ]
    return max(times) / 1000 if times else None


def cpu_seconds(pid: int) -> float:
    ticks = parse_cpu_ticks(Path(f"/proc/{pid}/stat").read_text(encoding="ascii"))
    return ticks / os.sysconf("SC_CLK_TCK")


# ---- the instance and SIPp ---------------------------------------------------------------


def require_sipp() -> str:
    found = shutil.which("sipp")
    if found is None:
        raise RuntimeError("sipp is not installed (Debian package sip-tester)")
    for pcap in ("g711a.pcap", "dtmf_2833_1.pcap"):
        if not (PCAPS / pcap).exists():
            raise RuntimeError(f"{PCAPS / pcap} is missing (it comes with sip-tester)")
    if os.geteuid() != 0:
        raise RuntimeError("SIPp's play_pcap_audio needs a raw socket: run as root")
    return found


def prepare(ast: Asterisk, passwords: Mapping[str, str], talk_s: int) -> None:
    """Append the bench's agents, Local customer and event time stamps to the instance's
    rendered config and reload those modules."""
    etc = ast.directory / "etc"
    with (etc / "pjsip.conf").open("a", encoding="utf-8") as out:
        out.write("\n; ---- appended by bench/sip_legs.py ----\n" + pjsip_agents(passwords))
    with (etc / "extensions-test.conf").open("a", encoding="utf-8") as out:
        out.write(customers_dialplan(talk_s))
    manager = etc / "manager.conf"
    text = manager.read_text(encoding="utf-8")
    manager.write_text(text.replace("[general]\n", "[general]\ntimestampevents = yes\n", 1))
    ast.cli("module reload res_pjsip.so")
    ast.cli("dialplan reload")
    ast.cli("manager reload")
    shown = ast.cli(f"pjsip show endpoint {next(iter(passwords))}")
    if "dtmf_mode" not in shown:
        raise RuntimeError(f"the appended endpoints did not load:\n{shown[-2000:]}")


def _bound(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return True
        return False


@contextmanager
def sipp(command: list[str], workdir: Path, name: str, host: str, port: int) -> Iterator[int]:
    """A SIPp UAS in the background until exit (terminated, then killed); yields its pid."""
    with (workdir / f"{name}.screen").open("wb") as screen:
        process = subprocess.Popen(
            command, cwd=workdir, stdin=subprocess.DEVNULL, stdout=screen, stderr=screen
        )
    try:
        for _ in range(100):
            if process.poll() is not None or _bound(host, port):
                break
            time.sleep(0.05)
        if process.poll() is not None or not _bound(host, port):
            raise RuntimeError(f"SIPp {name} did not start: {_tail(workdir, name)}")
        yield process.pid
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _tail(workdir: Path, name: str) -> str:
    parts = []
    for path in sorted(workdir.glob(f"{name}.*")):
        parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-2000:]}")
    return "\n".join(parts)


def _common(binary: str, scenario: Path, workdir: Path, name: str, host: str) -> list[str]:
    return [
        binary,
        *("-sf", str(scenario), "-i", host, "-nostdin"),
        *("-trace_err", "-error_file", str(workdir / f"{name}.errors")),
    ]


def register_all(
    ast: Asterisk, binary: str, workdir: Path, passwords: Mapping[str, str], contact_port: int
) -> float:
    """One SIPp UAC run registers every agent's contact (the agents' UAS); then wait until
    each is qualified. Returns the seconds it took."""
    started = time.monotonic()
    (workdir / "agents.csv").write_text(injection_csv(passwords), encoding="utf-8")
    (workdir / "register.xml").write_text(register_scenario(), encoding="utf-8")
    command = [
        *_common(binary, workdir / "register.xml", workdir, "register", HOST),
        *("-p", str(free_udp_port()), "-inf", str(workdir / "agents.csv")),
        *("-key", "contact_port", str(contact_port), "-key", "expires", "3600"),
        *("-m", str(len(passwords)), "-r", "50", "-timeout", "30", "-timeout_error"),
        f"{HOST}:{ast.sip_port}",
    ]
    done = subprocess.run(command, cwd=workdir, capture_output=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"registering failed (sipp {done.returncode}): {done.stdout[-1500:]!r}\n"
            f"{_tail(workdir, 'register')}"
        )
    deadline = time.monotonic() + 40
    while True:
        contacts = ast.cli("pjsip show contacts")
        avail = sum(
            1
            for line in contacts.splitlines()
            if "Avail" in line and line.split()[1].split("/", 1)[0] in passwords
        )
        if avail == len(passwords):
            return time.monotonic() - started
        if time.monotonic() > deadline:
            raise RuntimeError(f"{avail} of {len(passwords)} contacts Avail:\n{contacts[-3000:]}")
        time.sleep(0.5)


# ---- one run: the adapter keeps `concurrency` attempts up -------------------------------


class Stamps:
    """A second AMI login: Asterisk's time stamps of each attempt's DialerAccepted and of the
    first DialState RINGING with its Linkedid."""

    def __init__(self) -> None:
        self.accepted: dict[str, float] = {}
        self.ringing: dict[str, float] = {}
        self.events = 0
        self.untimed = 0

    async def listen(self, ast: Asterisk, stop: asyncio.Event) -> None:
        reader, writer = await asyncio.open_connection(HOST, ast.ami_port)
        await reader.readline()
        writer.write(
            f"Action: Login\r\nUsername: {ast.username}\r\nSecret: {ast.secret}\r\n"
            "Events: call,user\r\n\r\n".encode()
        )
        message: dict[str, str] = {}
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(reader.readline(), 0.5)
            except TimeoutError:
                continue
            if not raw:
                break
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if line:
                key, _, value = line.partition(": ")
                message.setdefault(key, value)
                continue
            self._take(message)
            message = {}
        writer.close()

    def _take(self, message: dict[str, str]) -> None:
        event = message.get("Event")
        if event not in ("UserEvent", "DialState"):
            return
        self.events += 1
        stamp = message.get("Timestamp")
        if stamp is None:
            self.untimed += 1
        at = float(stamp) if stamp else time.time()
        if event == "UserEvent" and message.get("UserEvent") == "DialerAccepted":
            self.accepted.setdefault(message.get("AttemptId", ""), at)
        elif event == "DialState" and message.get("DialStatus") == "RINGING":
            self.ringing.setdefault(message.get("Linkedid", ""), at)


def _request(agent: str, number: str, order: int, channels: tuple[str, str]) -> OriginateRequest:
    return OriginateRequest(
        attempt_id=str(uuid.uuid4()),
        order_id=str(order),
        agent=agent,
        customer_number=number,
        announce_digits=str(order),
        ring_timeout_s=10,
        accept_timeout_s=5,
        agent_channel_template=channels[0],
        customer_channel_template=channels[1],
    )


async def drive(  # noqa: PLR0915 - one straight measuring loop
    ast: Asterisk, plan: Plan, channels: tuple[str, str], sipp_pids: Sequence[int]
) -> dict[str, Any]:
    """Keep ``plan.concurrency`` attempts up through ``AmiTelephony`` for warm-up + window,
    then wait until every attempt is reported."""
    pid = int((ast.directory / "run" / "asterisk.pid").read_text().strip())
    reported: dict[str, tuple[float, CallReport]] = {}
    sent_at: dict[str, float] = {}
    live: dict[str, str] = {}  # attempt -> agent
    idle: deque[str] = deque(agents(plan.concurrency))
    slot = asyncio.Semaphore(plan.concurrency)
    accepted_by_adapter: dict[str, float] = {}

    loop = asyncio.get_running_loop()
    unanswered: Counter[str] = Counter()

    def free(agent: str) -> None:
        idle.append(agent)
        slot.release()

    def sink(report: CallReport) -> None:
        reported[report.attempt_id] = (time.monotonic(), report)
        agent = live.pop(report.attempt_id, None)
        if report.result.value != "answered":
            unanswered[f"{report.result.value}: {report.detail[:120]}"] += 1
        if agent is not None:
            # an attempt that failed at once must not turn the run into a retry storm
            if report.result.value == "answered":
                free(agent)
            else:
                loop.call_later(1.0, free, agent)

    settings = AmiSettings(
        port=ast.ami_port,
        username=ast.username,
        secret=ast.secret,
        ready_timeout_s=20.0,
        agent_ring_timeout_s=10,
        agent_channel=channels[0],
        customer_channel=channels[1],
    )
    telephony = AmiTelephony(settings, sink, clock=lambda: datetime.now(UTC))

    def on_accept(attempt: str, _: str) -> None:
        accepted_by_adapter.setdefault(attempt, time.monotonic())

    telephony.watch_accepts(on_accept)
    stamps = Stamps()
    stop = asyncio.Event()
    listener = asyncio.create_task(stamps.listen(ast, stop))
    await telephony.start()
    await telephony.wait_ready()
    await asyncio.sleep(0.5)  # the listener is logged in

    idle_cpu0, idle_t0 = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(3.0)
    idle_cpu = (cpu_seconds(pid) - idle_cpu0) / (time.monotonic() - idle_t0)

    start = time.monotonic()
    lo, hi = start + plan.warmup_s, start + plan.warmup_s + plan.window_s
    window: dict[str, float] = {}
    concurrent: list[int] = []

    bridges: dict[str, int] = {}

    async def sample() -> None:
        await asyncio.sleep(lo - time.monotonic())
        window["wall_lo"], window["cpu_lo"] = time.time(), cpu_seconds(pid)
        window["sipp_lo"] = sum(cpu_seconds(p) for p in sipp_pids)
        middle = lo + plan.window_s / 2
        while time.monotonic() < hi:
            concurrent.append(len(live))
            if not bridges and time.monotonic() >= middle:  # once: the bridges' technology
                shown = await asyncio.to_thread(ast.cli, "bridge show all")
                bridges.update(bridge_technologies(shown) or {"none": 0})
            await asyncio.sleep(0.1)
        window["wall_hi"], window["cpu_hi"] = time.time(), cpu_seconds(pid)
        window["sipp_hi"] = sum(cpu_seconds(p) for p in sipp_pids)
        window["mono_hi"] = time.monotonic()

    sampler = asyncio.create_task(sample())
    sent = 0
    while True:
        await slot.acquire()
        if time.monotonic() >= hi:
            slot.release()
            break
        agent = idle.popleft()
        number = f"+7916{sent % 10_000_000:07d}"
        request = _request(agent, number, 1_000_000 + sent, channels)
        live[request.attempt_id] = agent
        sent_at[request.attempt_id] = time.monotonic()
        telephony.originate(request)
        sent += 1
        if sent < plan.concurrency:  # spread the first calls over one hold time: no waves
            await asyncio.sleep((plan.talk_s + RING_S + 1.3) / plan.concurrency)
    await sampler
    drain_until = time.monotonic() + plan.talk_s + 40
    while live and time.monotonic() < drain_until:
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.5)
    stop.set()
    await listener
    await telephony.close()
    task_max = pjsip_task_max_ms(await asyncio.to_thread(ast.cli, "core show taskprocessors"))

    wall = window["mono_hi"] - lo
    in_window = [a for a, (at, _) in reported.items() if lo <= at < hi]
    latencies = [
        1000 * (stamps.ringing[a] - at)
        for a, at in stamps.accepted.items()
        if a in stamps.ringing and window["wall_lo"] <= at < window["wall_hi"]
    ]
    durations = [at - sent_at[a] for a, (at, _) in reported.items() if a in sent_at]
    mean_live = fmean(concurrent) if concurrent else float("nan")
    cores = (window["cpu_hi"] - window["cpu_lo"]) / wall
    return {
        "channels": list(channels),
        "sent": sent,
        "reported": len(reported),
        "lost": sent - len(reported),
        "still_live": len(live),
        "results": dict(Counter(r.result.value for _, r in reported.values())),
        "completed_in_window": len(in_window),
        "rate": len(in_window) / plan.window_s,
        "mean_concurrent": mean_live,
        "attempt_s_mean": fmean(durations) if durations else None,
        "latency_n": len(latencies),
        "accepted_seen": len(stamps.accepted),
        "ringing_seen": len(stamps.ringing),
        "events_without_timestamp": stamps.untimed,
        "accept_to_ringing_ms_p50": percentile(latencies, 50) if latencies else None,
        "accept_to_ringing_ms_p95": percentile(latencies, 95) if latencies else None,
        "accept_to_ringing_ms_max": max(latencies) if latencies else None,
        "asterisk_cores_idle": idle_cpu,
        "asterisk_cores": cores,
        "asterisk_core_pct_per_call": 100 * cores / mean_live if mean_live else None,
        "asterisk_cpu_ms_per_attempt": 1000 * (window["cpu_hi"] - window["cpu_lo"]) / len(in_window)
        if in_window
        else None,
        "asterisk_core_pct_per_call_above_idle": 100 * (cores - idle_cpu) / mean_live
        if mean_live
        else None,
        "sipp_cores": (window["sipp_hi"] - window["sipp_lo"]) / wall,
        "adapter_accepts": len(accepted_by_adapter),
        "bridge_technologies_mid_window": bridges,
        "unanswered": dict(unanswered.most_common(12)),
        "pjsip_task_max_ms_since_start": task_max,
    }


def _ms(value: Any) -> float:
    return float(value) if value is not None else float("nan")


def run(quick: bool, tmp: Path) -> Outcome:
    plan = Plan.for_run(quick)
    binary = require_sipp()
    names = agents(plan.concurrency)
    token = secrets.token_hex(4)
    passwords = {a: f"bench-{a}-{token}" for a in names}
    workdir = tmp / "sip_legs"
    workdir.mkdir(parents=True, exist_ok=True)
    details: dict[str, Any] = {"plan": plan.__dict__}
    with ExitStack() as stack:
        ast = stack.enter_context(asterisk("sip", sip=True, hosts_file=True))
        assert ast.sip_port is not None and ast.carrier_port is not None
        prepare(ast, passwords, plan.talk_s)
        pid = (ast.directory / "run" / "asterisk.pid").read_text().strip()
        details["asterisk_has_etc_hosts"] = Path(f"/proc/{pid}/root/etc/hosts").exists()
        (workdir / "carrier.xml").write_text(carrier_scenario(plan.talk_s), encoding="utf-8")
        contact_port, agent_media = free_udp_port(), free_udp_port()
        agents_uas = [
            *_common(binary, AGENT_SCENARIO, workdir, "agents", HOST),
            *("-p", str(contact_port), "-mi", HOST, "-mp", str(agent_media), "-aa"),
            *("-key", "rtp_port", str(agent_media), "-key", "press_after_ms", "1000"),
            f"{HOST}:{ast.sip_port}",
        ]
        carrier_uas = [
            *_common(binary, workdir / "carrier.xml", workdir, "carrier", CARRIER_HOST),
            *("-p", str(ast.carrier_port), "-mi", CARRIER_HOST),
            *("-mp", str(free_udp_port(CARRIER_HOST))),
        ]
        pids = [
            stack.enter_context(sipp(agents_uas, workdir, "agents", HOST, contact_port)),
            stack.enter_context(
                sipp(carrier_uas, workdir, "carrier", CARRIER_HOST, ast.carrier_port)
            ),
        ]
        details["register_s"] = register_all(ast, binary, workdir, passwords, contact_port)
        print(f"   {len(names)} SIP agents registered and qualified", flush=True)
        local = asyncio.run(drive(ast, plan, (LOCAL_AGENT, LOCAL_CUSTOMER), pids))
        print(f"   local: {_brief(local)}", flush=True)
        sip = asyncio.run(drive(ast, plan, (SIP_AGENT, SIP_CUSTOMER), pids))
        print(f"   sip:   {_brief(sip)}", flush=True)
        details["local"], details["sip"] = local, sip
    details["sipp_errors"] = {
        p.name: p.read_text(errors="replace")[-2000:] for p in workdir.glob("*.errors")
    }
    details["sipp_messages"] = {  # final screens, after SIPp was stopped above
        name: sipp_counts((workdir / f"{name}.screen").read_text(errors="replace"))
        for name in ("agents", "carrier")
    }
    print(f"   SIPp (both runs): {details['sipp_messages']}", flush=True)
    return Outcome("sip_legs", _rows(plan, local, sip), details)


def _brief(r: dict[str, Any]) -> str:
    return (
        f"sent {r['sent']}, reported {r['reported']} {r['results']}, "
        f"{r['rate']:.2f}/s, mean live {r['mean_concurrent']:.1f}, "
        f"accept→ringing p50 {_ms(r['accept_to_ringing_ms_p50']):.1f} ms "
        f"p95 {_ms(r['accept_to_ringing_ms_p95']):.1f} ms (n {r['latency_n']}), "
        f"Asterisk {100 * r['asterisk_cores']:.1f} % of a core "
        f"(idle {100 * r['asterisk_cores_idle']:.1f} %), not answered {r['unanswered']}, "
        f"longest PJSIP task so far {r['pjsip_task_max_ms_since_start']} ms"
    )


def _rows(plan: Plan, local: dict[str, Any], sip: dict[str, Any]) -> list[Row]:
    c = plan.concurrency
    sip_pct = _ms(sip["asterisk_core_pct_per_call"])
    local_pct = _ms(local["asterisk_core_pct_per_call"])
    sip_ms = _ms(sip["asterisk_cpu_ms_per_attempt"])
    local_ms = _ms(local["asterisk_cpu_ms_per_attempt"])
    sip_answered = sip["results"].get("answered", 0)
    local_answered = local["results"].get("answered", 0)
    lost = sip["lost"] + local["lost"]
    made = sip["sent"] + local["sent"]
    return [
        Row("sip_legs", f"completed attempts/s, SIP legs, {c} live", sip["rate"], "att/s",
            local["rate"], f"Local doubles, {c} live", "—", None),
        Row("sip_legs", "accept → customer ringing p50, SIP", _ms(sip["accept_to_ringing_ms_p50"]),
            "ms", _ms(local["accept_to_ringing_ms_p50"]), "Local p50", "—", None),
        Row("sip_legs", "accept → customer ringing p95, SIP", _ms(sip["accept_to_ringing_ms_p95"]),
            "ms", _ms(local["accept_to_ringing_ms_p95"]), "Local p95", "—", None),
        Row("sip_legs", "Asterisk CPU per live SIP call", sip_pct, "% core", local_pct,
            "Local, per call", "—", None),
        Row("sip_legs", "Asterisk CPU per completed SIP attempt", sip_ms, "ms", local_ms,
            "Local, per attempt", "—", None),
        Row("sip_legs", "live SIP calls per core (at that rate)", 100 / sip_pct, "calls",
            100 / local_pct, "Local calls per core", "—", None),
        Row("sip_legs", "SIP attempts not answered", sip["sent"] - sip_answered, "attempts",
            sip["sent"], f"SIP attempts (Local: {local['sent'] - local_answered} not answered)",
            "—", None),
        Row("sip_legs", "lost (SIP + Local)", lost, "attempts", made, "attempts made",
            "0 lost: each attempt reported", lost == 0),
    ]  # fmt: skip
