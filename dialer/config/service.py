"""The service's configuration: one TOML file → one frozen ``ServiceConfig``.

Precedence: defaults < file < environment < command line. Sections: ``[service]`` (below),
``[campaign]`` (``dialer.config.campaign``) or ``[campaigns.NAME]`` tables (several campaigns
in one service, ``dialer.config.campaigns``), ``[crm]`` (``crm_adapter.config``; plus
``kind = "demo"``, the built-in demo CRM) and ``[ami]``: one server, or
``[ami.servers.NAME]`` tables for the servers a node stands by for, each inheriting
``[ami]``. Every error is a ``ConfigError``
naming the field (``service.cps``, ``ami.servers.ast-2.port``); the run command exits 2 with
it. Secrets are never written in the file: ``<name>_env`` (a variable name) or
``<name>_file`` (a path).
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from campaigns.settings import CampaignSettings
from crm_adapter.config import CrmConfig, order_url_template, parse_crm_config
from crm_adapter.errors import CrmConfigError
from crm_adapter.port import MAX_PAGE_SIZE, IntakeFilter
from crm_adapter.retailcrm_telephony import RetailCrmTelephonySettings, parse_telephony
from dialer.ami.telephony import AmiConfigError, AmiSettings, tls_context
from dialer.config.campaign import ConfigError
from dialer.config.campaigns import campaigns_from_file
from dialer.recordings.files import DEFAULT_RECORDINGS_DIR
from dialer.recordings.retention import check_days
from dialer.storage.models import DEFAULT_SERVER

DEFAULT_DB_URL = "sqlite:///callback-dialer.db"
SERVICE_ENV_PREFIX = "CALLBACK_DIALER_SERVICE_"
AutoDisposition = Literal["none", "confirmed", "scripted"]
_AUTO: tuple[str, ...] = ("none", "confirmed", "scripted")
_AMI_ENV = {
    "host": "CALLBACK_DIALER_AMI_HOST",
    "port": "CALLBACK_DIALER_AMI_PORT",
    "user": "CALLBACK_DIALER_AMI_USER",
    "agent_channel": "CALLBACK_DIALER_AGENT_CHANNEL",
    "customer_channel": "CALLBACK_DIALER_CUSTOMER_CHANNEL",
}
_SERVER_KEYS = frozenset({"server", "lines"})
_SERVER_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_AMI_KEYS = frozenset(
    {"host", "port", "user", "secret_env", "secret_file", "agent_channel", "customer_channel"}
    | {"ping_interval_s", "ping_timeout_s", "reconnect_min_s", "reconnect_max_s"}
    | {"ready_timeout_s", "agent_ring_timeout_s", "context", "voice_accept"}
    | {"tls", "tls_ca_file", "tls_verify"}
)


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """``[service]``: where the data lives, the intake endpoint, pacing and timers."""

    db_url: str = DEFAULT_DB_URL
    node: str = "node-1"
    log_file: str = "callback-dialer.log"
    intake_host: str = "127.0.0.1"
    intake_port: int = 8080  # 0: any free port (printed at start)
    cps: float = 2.0  # Originates per second, at most
    campaign_lines: int = 10  # live calls of this campaign, at most
    trunk_lines: int = 30  # live calls on this node's Asterisk server unless [ami] lines says
    poll_interval_s: float = 30.0  # CRM pull; 0 turns pulling off (push only)
    tick_s: float = 5.0  # the dispatch safety tick; new work wakes dispatch at once
    outbox_interval_s: float = 5.0
    outbox_backoff_s: float = 10.0  # after a failed delivery: wait this, doubling per try...
    outbox_backoff_max_s: float = 1800.0  # ...up to this (each wait jittered to 50-100 %)
    misfire_grace_s: float = 30.0  # a periodic job late by less than this still runs
    status_max_age_s: float = 10.0  # a CRM status read this recently needs no new read
    status_timeout_s: float = 5.0  # a status read taking longer counts as failed
    status_retry_s: float = 5.0  # after a failed status read, wait this long
    claim_lease_s: float = 30.0
    shutdown_grace_s: float = 30.0  # on stop, wait this long for live calls to end
    auto_disposition: AutoDisposition = "none"
    # Log the campaign's logged-out agents in at start (no agent tool yet; the demo, tests).
    # Otherwise agents log in with `callback-dialer agents login ID`.
    login_agents: bool = False
    agent_session_ttl_s: float = 43200.0  # an agent's workspace session, from sign-in (12 h)
    agent_cookie_secure: bool = False  # true: the session cookie is Secure (HTTPS only)
    # The page's WebRTC softphone (docs/agents.md, "The phone in the page"): Asterisk's WSS
    # URL ("" = no softphone), the SIP domain of sip:AGENT@DOMAIN ("" = the URL's host) and
    # the TOML file of "AGENT" = "SIP password" (relative to the config file).
    agent_phone_ws_url: str = ""
    agent_phone_domain: str = ""
    agent_phone_secrets_file: str = ""
    # Call recordings (docs/supervisors.md, "Recordings"): the directory MixMonitor writes to,
    # as this service sees it (relative to the config file), and how many days they are kept
    # (0: forever; a nightly job deletes older files).
    recordings_dir: str = DEFAULT_RECORDINGS_DIR
    recordings_retention_days: int = 0
    intake_secret: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        check_days(self.recordings_retention_days)
        positive = ("cps", "tick_s", "outbox_interval_s", "misfire_grace_s", "status_timeout_s",
                    "outbox_backoff_s")  # fmt: skip
        for name in (*positive, "status_retry_s", "claim_lease_s", "agent_session_ttl_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: must be positive")
        for name in ("poll_interval_s", "status_max_age_s", "shutdown_grace_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must not be negative")
        for name in ("campaign_lines", "trunk_lines"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be at least 1")
        if self.outbox_backoff_max_s < self.outbox_backoff_s:
            raise ValueError("outbox_backoff_max_s: must not be less than outbox_backoff_s")
        if not 0 <= self.intake_port <= 65535:  # noqa: PLR2004 - the TCP port range
            raise ValueError("intake_port: must be 0..65535")
        if self.auto_disposition not in _AUTO:
            raise ValueError(f"auto_disposition: must be one of {', '.join(_AUTO)}")
        if self.intake_secret is not None and len(self.intake_secret) < 16:  # noqa: PLR2004
            raise ValueError("intake_secret: the HMAC secret must be at least 16 bytes")
        _check_phone(self.agent_phone_ws_url, self.agent_phone_secrets_file)


def _check_phone(ws_url: str, secrets_file: str) -> None:
    """The softphone's settings: a WebSocket URL Asterisk serves and the agents' passwords."""
    if not ws_url:
        return
    if not re.fullmatch(r"wss?://[A-Za-z0-9.:\[\]-]+(/[A-Za-z0-9._~/-]*)?", ws_url):
        raise ValueError("agent_phone_ws_url: must be a wss:// (or ws://) URL such as "
                         "wss://pbx.example:8089/ws")  # fmt: skip
    if not secrets_file:
        raise ValueError("agent_phone_secrets_file: required with agent_phone_ws_url "
                         "(the agents' SIP passwords)")  # fmt: skip


@dataclass(frozen=True, slots=True)
class AsteriskServer:
    """``[ami] server`` and ``[ami] lines``: the one Asterisk server this node serves and its
    line cap (live calls on that server, every campaign; ``service.trunk_lines`` when
    ``lines`` is not set). Nodes naming the same server take turns: one owns it, the
    others wait as hot standbys (docs/deployment.md)."""

    name: str = DEFAULT_SERVER
    lines: int | None = None
    agents: tuple[str, ...] | None = None  # None: the campaign's agents

    def __post_init__(self) -> None:
        if not _SERVER_NAME.fullmatch(self.name):
            raise ValueError(f"server: not a server name (letters, digits, _ . -): {self.name!r}")
        if self.lines is not None and self.lines < 1:
            raise ValueError("lines: must be at least 1")

    def line_cap(self, settings: ServiceSettings) -> int:
        return settings.trunk_lines if self.lines is None else self.lines


@dataclass(frozen=True, slots=True)
class DemoCrmConfig:
    """``[crm] kind = "demo"``: the in-process demo CRM seeded from a JSON Lines file."""

    orders: Path
    kind: Literal["demo"] = "demo"
    order_url: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """Everything ``callback-dialer run`` needs, loaded once."""

    service: ServiceSettings
    campaign: CampaignSettings  # the first of ``campaigns`` (the one of ``[campaign]``)
    crm: CrmConfig | DemoCrmConfig
    ami: AmiSettings
    source: Path | None = None
    server: AsteriskServer = AsteriskServer()
    servers: tuple[ServedServer, ...] = ()  # [ami.servers.NAME]; empty: the one [ami]
    telephony: RetailCrmTelephonySettings | None = None  # [crm.telephony] (issue 17 §2)
    # every campaign the service dials, in the file's order; () is ``(campaign,)``
    campaigns: tuple[CampaignSettings, ...] = ()

    def __post_init__(self) -> None:
        if len(self.campaigns) <= 1:  # one campaign (also after replace(campaign=...))
            object.__setattr__(self, "campaigns", (self.campaign,))
        elif self.campaigns[0] != self.campaign:
            raise ValueError("campaigns: the first campaign must be the one in ``campaign``")

    @property
    def places_agents(self) -> bool:
        """The file names its Asterisk server(s) (``[ami] server`` or ``[ami.servers.NAME]``):
        its campaigns' ``agents`` are then the agents at those servers (each node of a
        scale-out lists its own), not a roster the database could hold for every node."""
        return bool(self.servers) or self.server.name != DEFAULT_SERVER

    def served(self) -> tuple[ServedServer, ...]:
        """The servers this node serves or stands by for, in the file's order."""
        return self.servers or (ServedServer(self.server, self.ami),)

    def intake_filter(self, campaign: CampaignSettings | None = None) -> IntakeFilter:
        """The intake filter of ``campaign`` (the first one by default), pulled in pages of
        ``[crm] page_size``."""
        page_size = MAX_PAGE_SIZE if isinstance(self.crm, DemoCrmConfig) else self.crm.page_size
        chosen = self.campaign if campaign is None else campaign
        return IntakeFilter.for_campaign(chosen, page_size=page_size)


@dataclass(frozen=True, slots=True)
class ServedServer:
    """One Asterisk server a node may serve: its name, line cap, agents and AMI link."""

    server: AsteriskServer
    ami: AmiSettings


def load_service_config(
    path: Path, environ: Mapping[str, str], overrides: Mapping[str, Any] | None = None
) -> ServiceConfig:
    """Reads ``path``; ``environ`` and then ``overrides`` (``[service]`` keys given on the
    command line) win over the file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - {"service", "campaign", "campaigns", "crm", "ami"})
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown section")
    base = path.parent
    service = service_settings(
        _table(data, "service"), environ, overrides or {}, base, crm=_table(data, "crm")
    )
    campaigns = campaigns_from_file(data, crm_kind=_table(data, "crm").get("kind"))
    campaign = campaigns[0]
    crm = crm_settings(_table(data, "crm"), environ, base)
    telephony = telephony_settings(_table(data, "crm"), crm, environ, base)
    ami_table = _table(data, "ami")
    servers = served_servers(ami_table, environ, base, campaign, several="campaigns" in data)
    if servers:
        _check_members(campaigns, servers)
        return ServiceConfig(service, campaign, crm, servers[0].ami, path, servers[0].server,
                             servers, telephony, campaigns)  # fmt: skip
    server = asterisk_server(ami_table, environ)
    ami_rest = {k: v for k, v in ami_table.items() if k not in _SERVER_KEYS}
    ami = ami_settings(ami_rest, environ, base)
    return ServiceConfig(service, campaign, crm, ami, path, server, telephony=telephony,
                         campaigns=campaigns)  # fmt: skip


def _check_members(
    campaigns: tuple[CampaignSettings, ...], servers: tuple[ServedServer, ...]
) -> None:
    """With ``[ami.servers.NAME] agents`` the servers place the agents; a campaign's
    ``agents`` may only name agents placed on some server (docs/campaigns.md)."""
    placed = {a for one in servers for a in one.server.agents or ()}
    for campaign in campaigns:
        for i, agent in enumerate(campaign.agents):
            if agent not in placed:
                raise ConfigError(f"campaigns.{campaign.name}.agents[{i}]: agent {agent!r} is on "
                                  "no server (list it in ami.servers.NAME.agents)")  # fmt: skip


def served_servers(
    ami: Mapping[str, Any],
    environ: Mapping[str, str],
    base: Path,
    campaign: CampaignSettings,
    *,
    several: bool = False,
) -> tuple[ServedServer, ...]:
    """``[ami.servers.NAME]`` tables: the servers a node stands by for, each inheriting the
    settings of ``[ami]`` and overriding what it names (host, port, credentials, lines,
    agents). No such table: () (the plain ``[ami]`` form, one server)."""
    if "servers" not in ami:
        return ()
    tables = ami["servers"]
    if not isinstance(tables, dict) or not tables:
        raise ConfigError("ami.servers: expected [ami.servers.NAME] tables, one per server")
    for key in ("server", "agents"):
        if key in ami:
            raise ConfigError(f"ami.{key}: with [ami.servers.NAME] each server table says it")
    if environ.get("CALLBACK_DIALER_AMI_SERVER"):
        raise ConfigError("CALLBACK_DIALER_AMI_SERVER: [ami.servers.NAME] names the servers")
    if campaign.agents and not several:
        raise ConfigError("campaign.agents: with [ami.servers.NAME] each server lists its own "
                          "agents (ami.servers.NAME.agents)")  # fmt: skip
    inherited = {k: v for k, v in ami.items() if k != "servers"}
    return tuple(_served(name, table, inherited, environ, base) for name, table in tables.items())


def _served(
    name: str, table: Any, inherited: Mapping[str, Any], environ: Mapping[str, str], base: Path
) -> ServedServer:
    where = f"ami.servers.{name}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    own = dict(table)
    agents = own.pop("agents", None)
    if agents is not None and (
        not isinstance(agents, list) or not all(isinstance(a, str) and a for a in agents)
    ):
        raise ConfigError(f"{where}.agents: expected a list of agent ids, got {agents!r}")
    merged = {k: v for k, v in inherited.items() if not _overridden(k, own)} | own
    env = {k: v for k, v in environ.items() if not _overridden_by(k, own)}
    server = asterisk_server({**merged, "server": name}, env, where=where)
    rest = {k: v for k, v in merged.items() if k not in _SERVER_KEYS}
    ami = ami_settings(rest, env, base, where=where)
    return ServedServer(dataclasses.replace(server, agents=_tuple(agents)), ami)


def _overridden(key: str, own: Mapping[str, Any]) -> bool:
    """A key of ``[ami]`` a server table replaces (a secret replaces both secret forms)."""
    secrets = {"secret_env", "secret_file"}
    return key in own or (key in secrets and bool(secrets & set(own)))


def _overridden_by(variable: str, own: Mapping[str, Any]) -> bool:
    """An environment variable over ``[ami]`` that a server table's own setting beats."""
    keys = {v: k for k, v in _AMI_ENV.items()} | {"CALLBACK_DIALER_AMI_LINES": "lines"}
    if variable in ("CALLBACK_DIALER_AMI_SECRET", "CALLBACK_DIALER_AMI_SECRET_FILE"):
        return bool({"secret_env", "secret_file"} & set(own))
    return keys.get(variable) in own


def _tuple(agents: list[str] | None) -> tuple[str, ...]:
    return tuple(agents or ())


def asterisk_server(
    table: Mapping[str, Any], environ: Mapping[str, str], *, where: str = "ami"
) -> AsteriskServer:
    """``[ami] server`` / ``lines`` (or CALLBACK_DIALER_AMI_SERVER / _LINES over them)."""
    values: dict[str, Any] = {}
    if "server" in table:
        values["name"] = _typed(str, table["server"], f"{where}.server")
    if "lines" in table:
        values["lines"] = _typed(int, table["lines"], f"{where}.lines")
    if environ.get("CALLBACK_DIALER_AMI_SERVER"):
        values["name"] = environ["CALLBACK_DIALER_AMI_SERVER"]
    if environ.get("CALLBACK_DIALER_AMI_LINES"):
        values["lines"] = _from_text(int, environ["CALLBACK_DIALER_AMI_LINES"],
                                     "CALLBACK_DIALER_AMI_LINES")  # fmt: skip
    try:
        return AsteriskServer(**values)
    except ValueError as exc:
        raise ConfigError(f"{where}.{exc}") from exc


def service_settings(
    table: Mapping[str, Any],
    environ: Mapping[str, str],
    overrides: Mapping[str, Any],
    base: Path,
    *,
    crm: Mapping[str, Any] | None = None,
) -> ServiceSettings:
    hints = typing.get_type_hints(ServiceSettings)
    names = {f.name for f in dataclasses.fields(ServiceSettings)} - {"intake_secret"}
    secret_keys = {"intake_secret_env", "intake_secret_file"}
    if "intake_secret" in table:
        raise ConfigError("service.intake_secret: secrets are not written in the file; set "
                          "intake_secret_env or intake_secret_file")  # fmt: skip
    unknown = sorted(set(table) - names - secret_keys)
    if unknown:
        raise ConfigError(f"service.{unknown[0]}: unknown setting")
    values = {k: _typed(hints[k], v, f"service.{k}") for k, v in table.items() if k in names}
    if "db_url" not in table and environ.get("CALLBACK_DIALER_DB"):
        values["db_url"] = environ["CALLBACK_DIALER_DB"]
    for name in sorted(names):
        raw = environ.get(SERVICE_ENV_PREFIX + name.upper())
        if raw:
            values[name] = _from_text(hints[name], raw, SERVICE_ENV_PREFIX + name.upper())
    for name, value in overrides.items():
        values[name] = _typed(hints[name], value, f"--{name.replace('_', '-')}")
    values["intake_secret"] = _intake_secret(table, environ, base, crm or {})
    if values.get("recordings_dir"):  # relative to the config file
        values["recordings_dir"] = str(base / Path(values["recordings_dir"]).expanduser())
    if values.get("agent_phone_secrets_file"):  # relative to the config file
        values["agent_phone_secrets_file"] = str(base / Path(values["agent_phone_secrets_file"])
                                                 .expanduser())  # fmt: skip
    try:
        return ServiceSettings(**values)
    except ValueError as exc:
        raise ConfigError(f"service.{exc}") from exc


def crm_settings(
    table: Mapping[str, Any], environ: Mapping[str, str], base: Path
) -> CrmConfig | DemoCrmConfig:
    if not table:
        raise ConfigError("crm: the [crm] section is missing")
    if table.get("kind") == "demo":
        unknown = sorted(set(table) - {"kind", "orders", "mapping", "order_url"})
        if unknown:
            raise ConfigError(f"crm.{unknown[0]}: unknown setting for the demo CRM")
        orders = table.get("orders")
        if not isinstance(orders, str) or not orders:
            raise ConfigError("crm.orders: the demo CRM needs a JSON Lines file of orders")
        try:
            return DemoCrmConfig(
                base / orders, order_url=order_url_template(table.get("order_url"))
            )
        except CrmConfigError as exc:
            raise ConfigError(str(exc)) from exc
    try:
        return parse_crm_config(table, environ, base=base)
    except CrmConfigError as exc:
        raise ConfigError(str(exc)) from exc


def telephony_settings(
    table: Mapping[str, Any],
    crm: CrmConfig | DemoCrmConfig,
    environ: Mapping[str, str],
    base: Path,
) -> RetailCrmTelephonySettings | None:
    """``[crm.telephony]``: RetailCRM's telephony module, for ``kind = "retailcrm"`` only."""
    if "telephony" not in table:
        return None
    try:
        settings = parse_telephony(table["telephony"], environ, base=base)
    except CrmConfigError as exc:
        raise ConfigError(str(exc)) from exc
    if settings is None:
        return None
    retail = getattr(crm, "retailcrm", None)
    if retail is None:
        raise ConfigError(f"crm.telephony: RetailCRM's telephony module needs "
                          f"kind = \"retailcrm\", not {crm.kind!r}")  # fmt: skip
    own_zone = isinstance(table["telephony"], dict) and "timezone" in table["telephony"]
    zone = settings.timezone if own_zone else retail.timezone
    return dataclasses.replace(settings, site=retail.site, timezone=zone)


def ami_settings(
    table: Mapping[str, Any], environ: Mapping[str, str], base: Path, *, where: str = "ami"
) -> AmiSettings:
    """``[ami]``, then CALLBACK_DIALER_AMI_* (as ``AmiSettings.from_env``) over it."""
    if "secret" in table:
        raise ConfigError(f"{where}.secret: secrets are not written in the file; set "
                          "secret_env or secret_file")  # fmt: skip
    unknown = sorted(set(table) - _AMI_KEYS)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown setting")
    hints = typing.get_type_hints(AmiSettings)
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key in {"secret_env", "secret_file"}:
            continue
        name = "username" if key == "user" else key
        values[name] = _typed(hints[name], value, f"{where}.{key}")
    for key, variable in _AMI_ENV.items():
        if environ.get(variable):
            name = "username" if key == "user" else key
            values[name] = _from_text(hints[name], environ[variable], variable)
    values["secret"] = _ami_secret(table, environ, base, where)
    if values.get("tls_ca_file"):  # relative to the config file, like the secret files
        values["tls_ca_file"] = str(base / Path(values["tls_ca_file"]).expanduser())
    try:
        settings = AmiSettings(**values)
        tls_context(settings)  # an unreadable CA file is a config error, not a dial error
    except (AmiConfigError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    return settings


def _ami_secret(
    table: Mapping[str, Any], environ: Mapping[str, str], base: Path, where: str
) -> str:
    if environ.get("CALLBACK_DIALER_AMI_SECRET"):
        return environ["CALLBACK_DIALER_AMI_SECRET"]
    if environ.get("CALLBACK_DIALER_AMI_SECRET_FILE"):
        return _read_secret(Path(environ["CALLBACK_DIALER_AMI_SECRET_FILE"]), "ami.secret_file")
    secret = _secret(table, "secret", environ, base, where)
    if secret is None:
        raise ConfigError(f"{where}.secret_env: required (or {where}.secret_file, or "
                          "CALLBACK_DIALER_AMI_SECRET)")  # fmt: skip
    return secret


def _intake_secret(
    table: Mapping[str, Any], environ: Mapping[str, str], base: Path, crm: Mapping[str, Any]
) -> bytes | None:
    secret = _secret(table, "intake_secret", environ, base, "service")
    if secret is None and crm.get("kind") == "http":  # the CRM signs pushes with its secret
        http = crm.get("http")
        secret = _secret(
            http if isinstance(http, dict) else {}, "secret", environ, base, "crm.http"
        )
    return None if secret is None else secret.encode("utf-8")


def _secret(
    table: Mapping[str, Any], name: str, environ: Mapping[str, str], base: Path, where: str
) -> str | None:
    env, path = table.get(f"{name}_env"), table.get(f"{name}_file")
    if env is not None and path is not None:
        raise ConfigError(f"{where}.{name}_env: set only one of {name}_env or {name}_file")
    if env is not None:
        if not isinstance(env, str) or not environ.get(env):
            raise ConfigError(f"{where}.{name}_env: environment variable {env} is not set")
        return environ[env]
    if path is not None:
        if not isinstance(path, str) or not path:
            raise ConfigError(f"{where}.{name}_file: expected a file path")
        return _read_secret(base / Path(path).expanduser(), f"{where}.{name}_file")
    return None


def _read_secret(path: Path, where: str) -> str:
    try:
        value = path.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read {path}: {exc}") from exc
    if not value:
        raise ConfigError(f"{where}: {path} is empty")
    return value


def _table(data: Mapping[str, Any], name: str) -> dict[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{name}: must be a table")
    return table


def _typed(hint: Any, value: Any, where: str) -> Any:
    """A TOML (or command-line) value checked against the field's type."""
    if typing.get_origin(hint) is Literal:
        if value not in typing.get_args(hint):
            allowed = ", ".join(map(str, typing.get_args(hint)))
            raise ConfigError(f"{where}: must be one of {allowed}, not {value!r}")
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, hint) or (hint in (int, float) and isinstance(value, bool)):
        raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}")
    return value


def _from_text(hint: Any, raw: str, where: str) -> Any:
    """An environment variable's text as the field's type."""
    try:
        if hint is int:
            return int(raw)
        if hint is float:
            return float(raw)
    except ValueError:
        raise ConfigError(f"{where}: expected {hint.__name__}, got {raw!r}") from None
    if hint is bool:
        if raw.lower() not in {"1", "0", "true", "false", "yes", "no"}:
            raise ConfigError(f"{where}: expected true or false, got {raw!r}")
        return raw.lower() in {"1", "true", "yes"}
    return _typed(hint, raw, where)
