"""Shared pieces of the benchmarks: result rows, the table, JSON, private Asterisk and
PostgreSQL instances (always stopped at the end), RSS and percentiles."""

from __future__ import annotations

import json
import os
import platform
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
ASTERISK = ROOT / "scripts" / "asterisk-local"
POSTGRES = ROOT / "scripts" / "postgres-local"


@dataclass
class Row:
    """One line of the table: a figure, the limit it is compared with (measured in the
    same run, or a fixed budget when the issue names one), their ratio and the target."""

    bench: str
    figure: str
    value: float
    unit: str
    limit: float
    limit_what: str
    target: str
    passed: bool | None
    ratio: float = field(init=False)

    def __post_init__(self) -> None:
        self.ratio = self.value / self.limit if self.limit else float("nan")


@dataclass
class Outcome:
    name: str
    rows: list[Row]
    details: dict[str, Any]


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.machine()} {os.cpu_count()} cores ({cpu}), "
        f"CPython {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def write_json(outcome: Outcome, quick: bool) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{outcome.name}.json"
    data = {
        "bench": outcome.name,
        "quick": quick,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "rows": [asdict(r) for r in outcome.rows],
        "details": outcome.details,
    }
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def table(rows: Sequence[Row]) -> str:
    head = ("bench", "figure", "value", "limit (same run)", "ratio", "target", "result")
    lines = [head]
    for r in rows:
        verdict = "-" if r.passed is None else ("pass" if r.passed else "MISS")
        lines.append(
            (
                r.bench,
                r.figure,
                f"{r.value:.4g} {r.unit}",
                f"{r.limit:.4g} {r.unit} ({r.limit_what})",
                f"{r.ratio:.3f}",
                r.target,
                verdict,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = [" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    out.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(out)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def rss_mb(pid: int | str = "self") -> float:
    """Resident set size from /proc/<pid>/status (VmRSS), in MiB."""
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else float("nan")


@dataclass(frozen=True)
class Asterisk:
    name: str
    ami_port: int
    username: str
    secret: str
    directory: Path
    sip_port: int | None = None  # PJSIP from the shipped pjsip.conf on 127.0.0.1 (sip_legs)
    carrier_port: int | None = None  # the trunk's far end, 127.0.0.2

    def full_log(self) -> str:
        return (self.directory / "log" / "full").read_text(encoding="utf-8", errors="replace")

    def cli(self, command: str) -> str:
        done = subprocess.run(
            [str(ASTERISK), "rx", self.name, command],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return done.stdout


def free_udp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def _with_hosts_file(command: list[str], directory: Path, scratch: Path) -> list[str]:
    """``command`` in a mount namespace of its own in which the Asterisk chroot's /etc is a
    copy with an /etc/hosts naming this machine (127.0.0.1). The chroot has no hosts file,
    so Asterisk's per-call look-up of its own host name (``ast_find_ourip``, for every new
    RTP instance) goes to DNS, and this machine's resolver sometimes answers only after its
    5 s timeout, stalling a PJSIP serializer for that long. The shared chroot is not
    changed; with no chroot (a host Asterisk) the command is returned as is."""
    root = directory.parent.parent
    if not (root / ".callback-dialer-complete").exists() or shutil.which("unshare") is None:
        return command
    etc = scratch / "etc"
    shutil.copytree(root / "etc", etc, symlinks=True)
    (etc / "hosts").write_text(f"127.0.0.1 localhost\n127.0.0.1 {socket.gethostname()}\n")
    mount = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
    return ["unshare", "-m", "sh", "-c", mount, "sh", str(etc), str(root / "etc"), *command]


@contextmanager
def asterisk(tag: str, *, sip: bool = False, hosts_file: bool = False) -> Iterator[Asterisk]:
    """A private Asterisk instance (scripts/asterisk-local) on a free AMI port; stopped on
    exit, whatever happened. ``sip``: also PJSIP on a free UDP port with the trunk pointing
    at a free port on 127.0.0.2 (``--sip-port``/``--carrier-port``). ``hosts_file``: run it
    with an /etc/hosts that names this machine (``_with_hosts_file``)."""
    name = f"bench-{tag}-{os.getpid()}"
    port = free_port()
    secret = "bench-" + secrets.token_hex(8)
    sip_port = free_udp_port() if sip else None
    carrier_port = free_udp_port("127.0.0.2") if sip else None
    extra = [] if not sip else ["--sip-port", str(sip_port), "--carrier-port", str(carrier_port)]
    directory = Path(
        subprocess.run(
            [str(ASTERISK), "dir", name], check=False, capture_output=True, text=True
        ).stdout.strip()
    )
    scratch = Path(tempfile.mkdtemp(prefix="bench-etc-"))
    command = [str(ASTERISK), "start", name, "--ami-port", str(port), "--ami-secret", secret]
    command += extra
    if hosts_file:
        command = _with_hosts_file(command, directory, scratch)
    try:
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    try:
        yield Asterisk(name, port, "dialer", secret, directory, sip_port, carrier_port)
    finally:
        subprocess.run([str(ASTERISK), "stop", name], capture_output=True, timeout=60, check=False)
        if directory.name == name:
            subprocess.run(["rm", "-rf", str(directory)], check=False)
        shutil.rmtree(scratch, ignore_errors=True)


@contextmanager
def postgres() -> Iterator[str]:
    """A private PostgreSQL cluster (scripts/postgres-local); removed on exit. Yields the
    SQLAlchemy URL."""
    name = f"bench_{os.getpid()}"
    subprocess.run([str(POSTGRES), "install"], check=True, capture_output=True, timeout=600)
    try:
        subprocess.run(
            [str(POSTGRES), "start", name, "--port", str(free_port())],
            check=True,
            capture_output=True,
            timeout=180,
        )
        url = subprocess.run(
            [str(POSTGRES), "url", name], check=True, capture_output=True, text=True
        ).stdout.strip()
        yield url
    finally:
        subprocess.run([str(POSTGRES), "remove", name], capture_output=True, check=False)
