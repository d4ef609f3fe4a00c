"""Helpers for the service tests: a shop database (the SQL CRM), the config file, the
service as a subprocess, and the evidence on both sides (attempts in the DB, Originates in
Asterisk's full log)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from asterisk_fixtures import REPO, AsteriskInstance
from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.orm import Session

from crm_adapter.signing import signed_headers
from dialer.storage.models import AttemptRow, OrderRow, OutboxRow

SECRET = "intake-secret-0123456789"  # noqa: S105 - a test secret


@dataclass(frozen=True)
class ShopOrder:
    id: str
    phone: str
    name: str
    product: str = "Перуанская мака"
    status: str = "Ожидает подтверждения"
    state: str = "Новый"
    minutes_ago: int = 5


class ShopDb:
    """The shop's own database (SQLite) as the SQL CRM adapter reads and writes it."""

    def __init__(self, path: Path) -> None:
        self.url = f"sqlite:///{path}"
        self.engine = create_engine(self.url)
        meta = MetaData()
        self.orders = Table(
            "orders",
            meta,
            Column("id", String, primary_key=True),
            *(Column(n, String) for n in ("phone", "name", "product", "status", "state")),
            Column("source", String),
            Column("created_at", DateTime),
            *(Column(n, String) for n in ("problem", "comment", "call_made")),
            Column("callback_at", DateTime),
        )
        meta.create_all(self.engine)

    def seed(self, orders: Sequence[ShopOrder], now: datetime) -> None:
        with self.engine.begin() as conn:
            for o in orders:
                created = (now - timedelta(minutes=o.minutes_ago)).replace(tzinfo=None)
                conn.execute(
                    insert(self.orders).values(
                        id=o.id,
                        phone=o.phone,
                        name=o.name,
                        product=o.product,
                        status=o.status,
                        state=o.state,
                        created_at=created,
                    )
                )

    def set_status(self, order_id: str, status: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(self.orders).where(self.orders.c.id == order_id).values(status=status)
            )

    def set_callback(self, order_id: str, at: datetime) -> None:
        """An agent working in the shop's CRM sets the callback time (naive UTC here)."""
        naive = at.astimezone(UTC).replace(tzinfo=None)
        with self.engine.begin() as conn:
            conn.execute(
                update(self.orders).where(self.orders.c.id == order_id).values(callback_at=naive)
            )

    def row(self, order_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            found = conn.execute(select(self.orders).where(self.orders.c.id == order_id)).one()
            return dict(found._mapping)


def write_config(
    directory: Path,
    asterisk: AsteriskInstance,
    shop: ShopDb | None,
    *,
    service: dict[str, Any] | None = None,
    campaign: dict[str, Any] | None = None,
    retry: dict[str, Any] | None = None,
    crm: Sequence[str] | None = None,
    ami: dict[str, Any] | None = None,
) -> Path:
    """The service's TOML; ``crm`` replaces the SQL shop's ``[crm]`` section (TOML lines)."""
    (directory / "intake.secret").write_text(SECRET + "\n", encoding="utf-8")
    values: dict[str, Any] = {
        "node": "test",
        "log_file": str(directory / "service.log"),
        "intake_port": 0,
        "intake_secret_file": "intake.secret",
        "cps": 5,
        "poll_interval_s": 1,
        "tick_s": 2,
        "outbox_interval_s": 1,
        "status_max_age_s": 2,
        "claim_lease_s": 5,
        "shutdown_grace_s": 20,
        "auto_disposition": "confirmed",
        "login_agents": True,
        **(service or {}),
    }
    camp: dict[str, Any] = {
        "name": "it",
        "default_tz": "UTC",
        "ring_timeout_s": 3,
        "agent_accept_timeout_s": 3,
        "wrap_up_s": 0,
        "agents": ["1001", "1011"],
        "agent_channel_template": "Local/{agent}@dialer-test-agents",
        "customer_channel_template": "Local/{number}@dialer-test-customers/n",
        **(campaign or {}),
    }
    ladder: dict[str, Any] = {
        "quick_retries": 2,
        "quick_retry_min_s": 2,
        "quick_retry_max_s": 3,
        "slow_retry_s": 5,
        "network_retry_s": 2,
        "calling_days": 1,
        **(retry or {}),
    }
    link: dict[str, Any] = {
        "agent_ring_timeout_s": 5,
        "ping_interval_s": 1.0,
        "ping_timeout_s": 1.0,
        "reconnect_min_s": 0.2,
        "reconnect_max_s": 1.0,
        **(ami or {}),
    }
    text = "\n".join(
        [
            "[service]",
            *_pairs(values),
            "[campaign]",
            *_pairs(camp),
            "[campaign.window]",
            'start = "00:00"',
            'end = "23:59"',
            "[campaign.retry]",
            *_pairs(ladder),
            *(crm if crm is not None else _sql_crm(shop)),
            "[ami]",
            f"port = {asterisk.ami_port}",
            f'user = "{asterisk.username}"',
            'secret_env = "TEST_AMI_SECRET"',
            *_pairs(link),
            "",
        ]
    )
    path = directory / "service.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _sql_crm(shop: ShopDb | None) -> list[str]:
    assert shop is not None, "the SQL shop CRM needs a shop"
    return [
        "[crm]",
        'kind = "sql"',
        "[crm.sql]",
        f'url = "{shop.url}"',
        'table = "orders"',
        'timezone = "UTC"',
        "[crm.sql.columns]",
        'region = ""',
    ]


def _pairs(values: dict[str, Any]) -> list[str]:
    return [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in values.items()]


class ServiceProcess:
    """``callback-dialer run`` as a subprocess; its stderr (and the log) go to files."""

    def __init__(
        self,
        config: Path,
        db_url: str,
        asterisk: AsteriskInstance,
        name: str,
        env: dict[str, str] | None = None,
    ) -> None:
        self.log_path = config.parent / "service.log"
        self.err_path = config.parent / f"{name}.stderr"
        environ = {**os.environ, "TEST_AMI_SECRET": asterisk.secret, "PYTHONUNBUFFERED": "1"}
        environ |= env or {}
        args = [sys.executable, "-m", "dialer", "--db", db_url, "run", "--config", str(config)]
        with self.err_path.open("wb") as err:
            self.proc = subprocess.Popen(
                args, cwd=REPO, env=environ, stdout=err, stderr=subprocess.STDOUT
            )
        self.started_at = time.monotonic()
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0

    def new_log(self) -> str:
        """The log lines written by this process (the file is shared across restarts)."""
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as f:
            f.seek(self.log_offset)
            return f.read().decode("utf-8", "replace")

    def wait_log(self, pattern: str, timeout_s: float = 30.0) -> re.Match[str]:
        found = wait_for(lambda: re.search(pattern, self.new_log()), timeout_s, self)
        assert found is not None
        return found

    def base_url(self, timeout_s: float = 20.0) -> str:
        def url() -> str | None:
            text = self.err_path.read_text(encoding="utf-8", errors="replace")
            match = re.search(r"healthz: (http://[0-9.:]+)/healthz", text)
            return match.group(1) if match else None

        found = wait_for(url, timeout_s, self)
        assert found is not None
        return found

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout_s: float = 40.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout_s)

    def ensure_gone(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def output(self) -> str:
        return self.err_path.read_text(encoding="utf-8", errors="replace")


def wait_for(
    probe: Callable[[], Any], timeout_s: float, service: ServiceProcess | None = None
) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        if service is not None and service.proc.poll() is not None:
            raise AssertionError(f"service exited {service.proc.returncode}:\n{service.output()}")
        time.sleep(0.1)
    detail = service.output()[-3000:] if service is not None else ""
    raise AssertionError(f"timed out after {timeout_s} s waiting for {probe}\n{detail}")


@dataclass(frozen=True)
class Attempt:
    id: str
    order_id: str
    agent: str
    started_at: datetime
    ended_at: datetime | None
    result: str | None
    customer_attempt: bool


class DialerDb:
    """The dialer's own database, read-only from the test."""

    def __init__(self, path: Path) -> None:
        self.url = f"sqlite:///{path}"
        self._engine = create_engine(self.url)

    def attempts(self, order_id: str | None = None) -> list[Attempt]:
        if not inspect(self._engine).has_table("attempts"):
            return []  # the service has not created its schema yet
        with Session(self._engine) as session:
            query = select(AttemptRow).order_by(AttemptRow.started_at)
            if order_id is not None:
                query = query.where(AttemptRow.order_id == order_id)
            return [
                Attempt(
                    r.id,
                    r.order_id,
                    r.agent,
                    _utc(r.started_at),
                    None if r.ended_at is None else _utc(r.ended_at),
                    r.result,
                    r.customer_attempt,
                )
                for r in session.scalars(query)
            ]

    def order(self, order_id: str) -> tuple[str, str | None]:
        """(phase, outcome) of an order."""
        with Session(self._engine) as session:
            row = session.get(OrderRow, order_id)
            assert row is not None, order_id
            return row.phase, row.outcome

    def undelivered(self) -> int:
        with Session(self._engine) as session:
            rows = session.scalars(select(OutboxRow).where(OutboxRow.delivered_at.is_(None)))
            return len(list(rows))


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def originates_seen(asterisk: AsteriskInstance, attempt_id: str) -> int:
    """Asterisk's own evidence of Originates for one attempt: the dialer context ran for it
    (the agent answered), or a second channel with its ChannelId was refused."""
    log = asterisk.full_log()
    ran = log.count(f"app_verbose.c: dialer attempt {attempt_id} agent answered")
    refused = log.count(f"Channel Unique ID '{attempt_id}' already in use")
    return ran + refused


def post_json(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            return exc.code, json.loads(body)
        except ValueError:  # not JSON (twisted's HTML error page): shown as it came
            return exc.code, {"not_json": body.decode("utf-8", "replace")[:500]}


def push(base: str, orders: Sequence[ShopOrder], event_id: str) -> tuple[int, dict[str, Any]]:
    """The CRM's signed ``POST /intake`` of ``orders`` to the node at ``base``."""
    now = datetime.now(UTC)
    body = json.dumps(
        {"orders": [{"id": o.id, "phone": o.phone, "name": o.name, "product": o.product,
                     "created_at": now.isoformat(), "status": o.status, "state": o.state}
                    for o in orders]},
        ensure_ascii=False,
    ).encode()  # fmt: skip
    headers = signed_headers(SECRET.encode(), now, body, event_id)
    headers["Content-Type"] = "application/json"
    return post_json(f"{base}/intake", body, headers)


def get_json(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - loopback
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def cli(db_url: str, *args: str, stdin: str | None = None) -> str:
    """``python -m dialer --db db_url ARGS`` (``stdin`` on its standard input); its output,
    asserting exit 0."""
    done = subprocess.run(
        [sys.executable, "-m", "dialer", "--db", db_url, *args],
        capture_output=True, text=True, timeout=60, check=False, input=stdin,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout
