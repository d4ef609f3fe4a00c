"""The real service (`callback-dialer run`) as a subprocess for the benchmarks: its config,
a shop database for the SQL CRM (so outcomes are written back), signed pushes to /intake,
and the "dial order" lines of its log with their millisecond UTC timestamps."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Column, DateTime, MetaData, String, Table, create_engine, insert

from bench.common import ROOT, Asterisk
from crm_adapter.signing import signed_headers

SECRET = "bench-intake-secret-0123456789"  # noqa: S105 - a throw-away loopback secret
_DIAL = re.compile(r"^(\S+) INFO dialer\.service: dial order (\S+) attempt \d+ agent (\S+)", re.M)


@dataclass(frozen=True)
class BenchOrder:
    id: str
    phone: str
    name: str = "Клиент"
    product: str = "Перуанская мака"

    def as_json(self, now: datetime) -> dict[str, Any]:
        return {
            "id": self.id,
            "phone": self.phone,
            "name": f"{self.name} {self.id}",
            "product": self.product,
            "created_at": now.isoformat(),
            "status": "Ожидает подтверждения",
            "state": "Новый",
        }


def customer_orders(n: int, first: int, stay_s: int) -> list[BenchOrder]:
    """Orders whose numbers are customer doubles that answer and stay ``stay_s`` s (1..9)."""
    return [BenchOrder(str(first + i), f"+7916{i:05d}{stay_s}1") for i in range(n)]


def agent_ids(n: int) -> list[str]:
    """Agent doubles that answer, wait 1 s and press 1 (4 digits ending in 1)."""
    return [f"{100 + i:03d}1" for i in range(n)]


def seed_shop(path: Path, orders: Sequence[BenchOrder], now: datetime) -> str:
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    meta = MetaData()
    table = Table(
        "orders",
        meta,
        Column("id", String, primary_key=True),
        *(Column(n, String) for n in ("phone", "name", "product", "status", "state")),
        Column("source", String),
        Column("created_at", DateTime),
        *(Column(n, String) for n in ("problem", "comment", "call_made")),
        Column("callback_at", DateTime),
    )
    meta.create_all(engine)
    rows = [{**o.as_json(now), "created_at": now.replace(tzinfo=None)} for o in orders]
    with engine.begin() as conn:
        if rows:
            conn.execute(insert(table), rows)
    engine.dispose()
    return url


def write_config(
    directory: Path,
    ast: Asterisk,
    shop_url: str,
    *,
    agents: Sequence[str],
    service: dict[str, Any],
    campaign_extra: dict[str, Any] | None = None,
    crm_lines: Sequence[str] | None = None,
) -> Path:
    """The service's TOML: ``shop_url``'s SQL CRM unless ``crm_lines`` give the ``[crm]``
    sections (then ``shop_url`` is unused)."""
    (directory / "intake.secret").write_text(SECRET + "\n", encoding="utf-8")
    values: dict[str, Any] = {
        "node": "bench",
        "log_file": str(directory / "service.log"),
        "intake_port": 0,
        "intake_secret_file": "intake.secret",
        "poll_interval_s": 0,
        "tick_s": 5,
        "outbox_interval_s": 2,
        "status_max_age_s": 3600,
        "claim_lease_s": 30,
        "shutdown_grace_s": 30,
        "auto_disposition": "confirmed",
        "login_agents": True,
        **service,
    }
    campaign: dict[str, Any] = {
        "name": "bench",
        "default_tz": "UTC",
        "ring_timeout_s": 10,
        "agent_accept_timeout_s": 5,
        "wrap_up_s": 0,
        "agents": list(agents),
        "agent_channel_template": "Local/{agent}@dialer-test-agents",
        "customer_channel_template": "Local/{number}@dialer-test-customers/n",
        **(campaign_extra or {}),
    }
    sql_crm = [
        "[crm]",
        'kind = "sql"',
        "[crm.sql]",
        f'url = "{shop_url}"',
        'table = "orders"',
        'timezone = "UTC"',
        "[crm.sql.columns]",
        'region = ""',
    ]
    lines = [
        "[service]",
        *_pairs(values),
        "[campaign]",
        *_pairs(campaign),
        "[campaign.window]",
        'start = "00:00"',
        'end = "23:59"',
        *(sql_crm if crm_lines is None else crm_lines),
        "[ami]",
        f"port = {ast.ami_port}",
        f'user = "{ast.username}"',
        'secret_env = "BENCH_AMI_SECRET"',
        "agent_ring_timeout_s = 10",
        "",
    ]
    path = directory / "service.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _pairs(values: dict[str, Any]) -> list[str]:
    return [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in values.items()]


class Service:
    """``callback-dialer run`` as a subprocess; stdout+stderr to a file."""

    def __init__(self, config: Path, db_url: str, ast: Asterisk) -> None:
        self.log_path = config.parent / "service.log"
        self.err_path = config.parent / "service.stderr"
        env = {**os.environ, "BENCH_AMI_SECRET": ast.secret, "PYTHONUNBUFFERED": "1"}
        args = [sys.executable, "-m", "dialer", "--db", db_url, "run", "--config", str(config)]
        with self.err_path.open("wb") as err:
            self.proc = subprocess.Popen(
                args, cwd=ROOT, env=env, stdout=err, stderr=subprocess.STDOUT
            )
        self.base = self._wait_url()
        self.wait_log("INFO dialer.service: started", 60)
        self.profiler: subprocess.Popen[bytes] | None = None
        profile = os.environ.get("BENCH_PROFILE_DIR")
        if profile:  # py-spy (pip install py-spy into the venv) samples the service
            out = Path(profile) / f"service-{self.proc.pid}.txt"
            spy = Path(sys.executable).with_name("py-spy")
            self.profiler = subprocess.Popen(
                [str(spy), "record", "--format", "raw", "-r", "200", "-o", str(out),
                 "--pid", str(self.proc.pid)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip

    def _wait_url(self, timeout_s: float = 60.0) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            text = self.err_path.read_text(encoding="utf-8", errors="replace")
            match = re.search(r"healthz: (http://[0-9.:]+)/healthz", text)
            if match:
                return match.group(1)
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited {self.proc.returncode}:\n{text[-3000:]}")
            time.sleep(0.1)
        raise RuntimeError("service did not print its URL")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_log(self, needle: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.log_path.exists() and needle in self.log():
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited {self.proc.returncode}")
            time.sleep(0.1)
        raise RuntimeError(f"no {needle!r} in the service log after {timeout_s} s")

    def dials(self) -> dict[str, tuple[datetime, str]]:
        """order id → (when the service logged its dial, agent), first dial only."""
        found: dict[str, tuple[datetime, str]] = {}
        for match in _DIAL.finditer(self.log()):
            at = datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
            found.setdefault(match.group(2), (at, match.group(3)))
        return found

    def push(self, orders: Sequence[BenchOrder], event_id: str) -> datetime:
        """POST the orders to /intake, signed; returns when the request was sent."""
        now = datetime.now(UTC)
        body = json.dumps(
            {"orders": [o.as_json(now - timedelta(seconds=1)) for o in orders]},
            ensure_ascii=False,
        ).encode()
        headers = signed_headers(SECRET.encode(), now, body, event_id)
        headers["Content-Type"] = "application/json"
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{self.base}/intake", data=body, headers=headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            reply = json.loads(answer.read())
        if reply.get("admitted") != len(orders):
            raise RuntimeError(f"intake admitted {reply} of {len(orders)}")
        return now

    def stop(self, timeout_s: float = 90.0) -> int:
        if self.profiler is not None:
            self.profiler.send_signal(signal.SIGINT)
            self.profiler.wait(30)
            self.profiler = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
