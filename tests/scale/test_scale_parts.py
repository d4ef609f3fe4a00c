"""Scale-out pieces without Asterisk: the per-node server settings, attempts and agents bound
to their server, and the agents CLI's --server."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from campaigns.lifecycle import OrderState, Phase
from campaigns.orders import Order
from dialer.app.agent_sync import AgentSync
from dialer.config.campaign import ConfigError
from dialer.config.service import AsteriskServer, ServiceConfig, load_service_config
from dialer.dispatch.agents import AgentPool
from dialer.dispatch.ports import AttemptRecord, QueueEntry
from dialer.storage.agents import SqlAgentRegistry
from dialer.storage.errors import InvalidValueError
from dialer.storage.migrate import open_database
from dialer.storage.orders import SqlOrderStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_run import run

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
ENV = {"AMI_SECRET": "s3cret"}
CONFIG = """
[service]
trunk_lines = 7
[campaign]
agents = ["101"]
[crm]
kind = "demo"
orders = "orders.jsonl"
[ami]
secret_env = "AMI_SECRET"
"""


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_database(f"sqlite:///{tmp_path / 'dialer.db'}")
    yield engine
    engine.dispose()


def load(tmp_path: Path, ami: str = "", env: dict[str, str] | None = None) -> AsteriskServer:
    path = tmp_path / "service.toml"
    path.write_text(CONFIG + ami, encoding="utf-8")
    config = load_service_config(path, {**ENV, **(env or {})})
    assert config.server.line_cap(config.service) == (config.server.lines or 7)
    return config.server


def test_a_node_serves_the_default_server_capped_by_trunk_lines_unless_told(
    tmp_path: Path,
) -> None:
    assert load(tmp_path) == AsteriskServer("default", None)
    assert load(tmp_path, 'server = "ast-2"\nlines = 12\n') == AsteriskServer("ast-2", 12)
    told = load(tmp_path, 'server = "ast-2"\n', {"CALLBACK_DIALER_AMI_SERVER": "ast-3",
                                                 "CALLBACK_DIALER_AMI_LINES": "4"})  # fmt: skip
    assert told == AsteriskServer("ast-3", 4)


@pytest.mark.parametrize(
    ("ami", "named"),
    [
        ('server = "ast 1; drop"\n', "ami.server"),
        ("server = 3\n", "ami.server"),
        ("lines = 0\n", "ami.lines"),
        ('lines = "many"\n', "ami.lines"),
    ],
)
def test_bad_server_settings_are_named(tmp_path: Path, ami: str, named: str) -> None:
    with pytest.raises(ConfigError, match=rf"(^|: ){named}\b"):
        load(tmp_path, ami)


def _entry(order_id: str, phone: str) -> QueueEntry:
    order = Order(order_id, phone, "Анна", "Мака", T0, "Ожидает подтверждения", "Новый")
    state = OrderState(order_id, ("UTC",), T0.date(), Phase.QUEUED, T0)
    return QueueEntry(order, phone, f"{phone}|Анна|Мака", state)


def test_attempts_record_their_server_and_each_node_sees_only_its_servers_live_calls(
    engine: Engine,
) -> None:
    stores = {s: SqlOrderStore(engine, campaign="it", server=s) for s in ("ast-1", "ast-2")}
    for n, store in enumerate(stores.values()):
        entry = _entry(f"o{n}", f"+7916583020{n}")
        assert store.insert(entry)
        dialing = entry._replace(state=entry.state._replace(phase=Phase.DIALING))
        attempt = AttemptRecord(f"a{n}", entry.order.id, entry.order.phone, "101", 1, T0)
        store.save(dialing, attempt=attempt)
    assert [a.id for a in stores["ast-1"].live_attempts()] == ["a0"]
    assert [a.id for a in stores["ast-2"].live_attempts()] == ["a1"]
    assert SqlOrderStore(engine, campaign="it").live_attempts() == []  # "default": none


def test_the_pool_only_ever_gets_the_agents_of_its_server(engine: Engine) -> None:
    registry = SqlAgentRegistry(engine)
    registry.configure("it", ["101", "102"], T0, server="ast-1")
    registry.configure("it", ["201"], T0, server="ast-2")
    registry.configure("it", ["301"], T0)  # no server: "default"
    for agent in ("101", "102", "201", "301"):
        registry.login(agent, T0)
    pools = {}
    for server in ("ast-1", "ast-2", "default"):
        pool = AgentPool([], T0, wrap_up_s=0, miss_pause_after=3)
        sync = AgentSync(registry, pool, campaign="it", server=server)
        sync.load(T0)
        registry.configure("it", ["999"], T0, server="elsewhere")  # appears while running
        sync.sync(T0 + timedelta(seconds=1))
        pools[server] = sorted(a.id for a in pool.all())
    assert pools == {"ast-1": ["101", "102"], "ast-2": ["201"], "default": ["301"]}
    with pytest.raises(InvalidValueError):
        registry.configure("it", ["101"], T0, server="bad name")


def test_agents_cli_binds_agents_to_a_server_and_lists_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    campaign = tmp_path / "campaign.toml"
    campaign.write_text('[campaign]\nname = "it"\nagents = ["101", "102"]\n', encoding="utf-8")
    code, out, _ = run(capsys, "--db", url, "agents", "configure", str(campaign), "--server",
                       "ast-2")  # fmt: skip
    assert (code, out) == (
        0,
        "campaign it: 2 agent(s) added, 0 already configured on server ast-2\n",
    )
    code, out, _ = run(capsys, "--db", url, "agents", "list", "--json", "--server", "ast-2")
    assert [(r["id"], r["server"]) for r in map(json.loads, out.splitlines())] == [
        ("101", "ast-2"),
        ("102", "ast-2"),
    ]
    code, out, _ = run(capsys, "--db", url, "agents", "list", "--server", "default")
    assert out.splitlines()[1:] == []
    code, _, err = run(capsys, "--db", url, "agents", "configure", str(campaign), "--server",
                       "a b")  # fmt: skip
    assert code == 2 and "--server" in err


SERVERS = """
[service]
trunk_lines = 7
[campaign]
[crm]
kind = "demo"
orders = "orders.jsonl"
[ami]
host = "10.0.0.1"
user = "dialer"
secret_env = "AMI_SECRET"
ping_interval_s = 2.0
[ami.servers.ast-1]
lines = 20
agents = ["101", "102"]
[ami.servers.ast-2]
host = "10.0.0.2"
port = 5039
secret_file = "ast-2.secret"
"""


def load_servers(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> ServiceConfig:
    (tmp_path / "ast-2.secret").write_text("other-secret\n", encoding="utf-8")
    path = tmp_path / "service.toml"
    path.write_text(text, encoding="utf-8")
    return load_service_config(path, {**ENV, **(env or {})})


def test_ami_servers_tables_inherit_ami_and_override_what_they_name(tmp_path: Path) -> None:
    """Issue 13, item 10: a node stands by for a list of servers."""
    config = load_servers(tmp_path, SERVERS, {"CALLBACK_DIALER_AMI_USER": "ops"})
    [one, two] = config.served()
    assert one.server == AsteriskServer("ast-1", 20, ("101", "102"))
    assert two.server == AsteriskServer("ast-2", None, ())
    assert (one.ami.host, one.ami.port, one.ami.username, one.ami.secret) == (
        "10.0.0.1", 5038, "ops", "s3cret")  # fmt: skip
    assert (two.ami.host, two.ami.port, two.ami.secret) == ("10.0.0.2", 5039, "other-secret")
    assert one.ami.ping_interval_s == two.ami.ping_interval_s == 2.0
    assert (config.server, config.ami) == (one.server, one.ami)


def test_plain_ami_is_still_the_one_server_form(tmp_path: Path) -> None:
    config = load_servers(tmp_path, CONFIG + 'server = "ast-9"\n')
    assert [s.server.name for s in config.served()] == ["ast-9"]
    assert config.served()[0].ami == config.ami


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (("port = 5039", 'port = "x"'), "ami.servers.ast-2.port"),
        (
            ('secret_file = "ast-2.secret"', 'secret_file = "none.secret"'),
            "ami.servers.ast-2.secret_file",
        ),
        (("lines = 20", "lines = 0"), "ami.servers.ast-1.lines"),
        (("lines = 20", "hosst = 'x'"), "ami.servers.ast-1.hosst"),
        (('agents = ["101", "102"]', "agents = [101]"), "ami.servers.ast-1.agents"),
        (("[ami.servers.ast-2]", "[ami.servers.'ast 2']"), "ami.servers.ast 2.server"),
        (("[ami]", '[ami]\nserver = "ast-1"'), "ami.server"),
        (("[campaign]", '[campaign]\nagents = ["101"]'), "campaign.agents"),
    ],
)
def test_a_bad_ami_servers_table_is_named(
    tmp_path: Path, change: tuple[str, str], named: str
) -> None:
    with pytest.raises(ConfigError, match=rf"(^|: ){re.escape(named)}\b"):
        load_servers(tmp_path, SERVERS.replace(*change))


@pytest.mark.parametrize(
    ("servers", "named"),
    [
        ("servers = {}", "ami.servers: expected"),
        ("servers = {ast-2 = 1}", "ami.servers.ast-2: must"),
    ],
)
def test_ami_servers_that_are_not_tables_are_named(
    tmp_path: Path, servers: str, named: str
) -> None:
    with pytest.raises(ConfigError, match=f"^{re.escape(named)}"):
        load_servers(tmp_path, SERVERS.split("[ami.servers.", maxsplit=1)[0] + servers + "\n")
