"""The relational schema: typed declarative models, the single source Alembic compares to.

Portable between SQLite and PostgreSQL: no backend-only types; instants are aware UTC
(``UTCDateTime``); enumerations are text with CHECK constraints where the set is closed.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from dialer.storage.types import UTCDateTime

ORDER_PHASES = ("queued", "claimed", "dialing", "awaiting_disposition", "done")
CAMPAIGN_STATES = ("active", "paused", "archived")
AGENT_STATES = ("logged_out", "idle", "ringing", "on_call", "wrap_up", "paused")
TOKEN_ROLES = ("ops", "crm", "viewer")
DEFAULT_SERVER = "default"  # the Asterisk server of a node with no ``[ami] server``

_LIVE = text("ended_at IS NULL")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _zero() -> Mapped[int]:
    return mapped_column(Integer, default=0, server_default=text("0"))


def _no() -> Mapped[bool]:
    return mapped_column(Boolean, default=False, server_default=false())


class Base(DeclarativeBase):
    """Declarative base carrying the constraint naming convention."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {datetime: UTCDateTime(), str: String(), date: Date()}  # noqa: RUF012 - read once by SQLAlchemy


class Campaign(Base):
    """A campaign: its current settings (the JSON of ``CampaignSettings`` in the campaign
    file's form), their ``version`` and its ``state``. Version 0 with settings ``"{}"``: a
    row made for orders or a pause before any settings were saved (not yet in the catalog,
    ``dialer.storage.catalog``); every saved version is a row of ``campaign_versions``."""

    __tablename__ = "campaigns"
    __table_args__ = (CheckConstraint(_one_of("state", CAMPAIGN_STATES), name="state"),)

    name: Mapped[str] = mapped_column(primary_key=True)
    settings_json: Mapped[str] = mapped_column(Text, default="{}")
    version: Mapped[int] = _zero()
    state: Mapped[str] = mapped_column(default="active", server_default=text("'active'"))
    paused_reason: Mapped[str | None]
    updated_by: Mapped[str] = mapped_column(default="", server_default=text("''"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CampaignVersionRow(Base):
    """One saved version of a campaign's settings: who saved it, when, and why."""

    __tablename__ = "campaign_versions"

    campaign: Mapped[str] = mapped_column(ForeignKey("campaigns.name"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    settings_json: Mapped[str] = mapped_column(Text)
    author: Mapped[str]
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class OrderRow(Base):
    """One CRM order and where it stands in the dialer's lifecycle.

    ``identity`` is the phone+name+product key that finds duplicates; ``priority`` is
    ``campaigns.lifecycle.Priority``; ``zones`` is comma-joined IANA names;
    ``attempt_times`` is ``types.encode_instants`` of the customer attempts' start
    instants; ``live_attempt`` is the id of the attempt under way (no foreign key: the
    order row is written before its attempt row); ``version`` is bumped by every update
    and compared by writers that must not lose a race.
    """

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(_one_of("phase", ORDER_PHASES), name="phase"),
        Index(None, "phase", "next_due_at"),
        Index(None, "phase", "priority", "next_due_at"),
        Index(None, "campaign", "phase", "priority", "next_due_at"),  # a campaign's queue (0012)
    )

    id: Mapped[str] = mapped_column(primary_key=True)
    campaign: Mapped[str] = mapped_column(ForeignKey("campaigns.name"))
    phone_raw: Mapped[str]
    e164: Mapped[str | None]
    name: Mapped[str] = mapped_column(Text)
    product: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(index=True)  # speed to lead by day (0010)
    crm_status: Mapped[str]
    crm_state: Mapped[str]
    source: Mapped[str | None]
    region: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(Text)
    tz_hint: Mapped[str | None]
    country: Mapped[str | None]
    prepaid: Mapped[bool] = _no()
    zones: Mapped[str] = mapped_column(Text, default="", server_default="")
    tz_source: Mapped[str | None]
    identity: Mapped[str] = mapped_column(Text, default="", server_default="", index=True)
    phase: Mapped[str] = mapped_column(default="queued", server_default="queued")
    priority: Mapped[int] = _zero()
    next_due_at: Mapped[datetime | None]
    customer_attempts: Mapped[int] = _zero()
    agent_misses: Mapped[int] = _zero()
    network_failures: Mapped[int] = _zero()
    attempt_times: Mapped[str] = mapped_column(Text, default="", server_default="")
    horizon_start: Mapped[date | None]
    callback_at: Mapped[datetime | None]
    callback_owner: Mapped[str | None]  # the agent who owns the callback («мой перезвон»)
    live_attempt: Mapped[str | None]
    outcome: Mapped[str | None]
    outcome_problem: Mapped[str | None] = mapped_column(Text)
    outcome_comment: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None]
    lease_until: Mapped[datetime | None] = mapped_column(index=True)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    updated_at: Mapped[datetime]
    items_json: Mapped[str | None] = mapped_column(Text)
    total: Mapped[str | None]
    address: Mapped[str | None] = mapped_column(Text)
    delivery_date: Mapped[date | None]
    extra_phone: Mapped[str | None]
    customer_comment: Mapped[str | None] = mapped_column(Text)


class AttemptRow(Base):
    """One agent-first call; its id is the Asterisk ChannelId. Live while ``ended_at`` is null.

    The database refuses a second live attempt for the same order or the same number.
    ``server`` names the Asterisk server it was placed on (``[ami] server``).
    """

    __tablename__ = "attempts"
    __table_args__ = (
        Index("uq_attempts_live_order", "order_id", unique=True,
              sqlite_where=_LIVE, postgresql_where=_LIVE),
        Index("uq_attempts_live_e164", "e164", unique=True,
              sqlite_where=_LIVE, postgresql_where=_LIVE),
        Index("ix_attempts_live_server", "server", sqlite_where=_LIVE, postgresql_where=_LIVE),
    )  # fmt: skip

    id: Mapped[str] = mapped_column(primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    e164: Mapped[str]
    agent: Mapped[str]
    number: Mapped[int | None]
    customer_attempt: Mapped[bool] = _no()
    started_at: Mapped[datetime] = mapped_column(index=True)  # reports read by day (0010)
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    result: Mapped[str | None]
    detail: Mapped[str] = mapped_column(Text, default="", server_default="")
    recording: Mapped[str | None] = mapped_column(Text)
    server: Mapped[str] = mapped_column(default=DEFAULT_SERVER, server_default=DEFAULT_SERVER)


class AgentStateRow(Base):
    """One change of an agent's state (issue 19 reports, migration 0010): the state entered
    at ``at``, the pause reason, and who changed it (``by``: the agent's id, a supervisor's
    id, "ops" for the CLI and API tokens, "system" for the dialer's own changes such as a
    call ringing, ending, or the pause «нет результата»). The interval lasts until the
    agent's next row."""

    __tablename__ = "agent_states"
    __table_args__ = (
        CheckConstraint(_one_of("state", AGENT_STATES), name="state"),
        Index(None, "agent_id", "at"),
        Index(None, "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agent_id: Mapped[str]
    state: Mapped[str]
    reason: Mapped[str | None] = mapped_column(Text)
    by: Mapped[str]
    at: Mapped[datetime]


class AgentRow(Base):
    """An agent (operator) and their live state. ``server``: the Asterisk server the agent's
    phone is on (null counts as ``"default"``); only that server's node offers them calls."""

    __tablename__ = "agents"
    __table_args__ = (CheckConstraint(_one_of("state", AGENT_STATES), name="state"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    campaign: Mapped[str | None] = mapped_column(ForeignKey("campaigns.name"))
    display_name: Mapped[str] = mapped_column(Text)
    channel: Mapped[str]
    server: Mapped[str | None]
    state: Mapped[str] = mapped_column(default="logged_out", server_default="logged_out")
    state_since: Mapped[datetime]
    paused_reason: Mapped[str | None] = mapped_column(Text)
    consecutive_misses: Mapped[int] = _zero()
    last_call_ended_at: Mapped[datetime | None]


class OutcomeRow(Base):
    """One outcome of an order (each no-answer attempt, the final result, an invalid ...)."""

    __tablename__ = "outcomes"
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - SQLAlchemy's form

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    attempt_id: Mapped[str | None] = mapped_column(ForeignKey("attempts.id"))
    kind: Mapped[str]
    crm_status: Mapped[str]
    problem: Mapped[str | None] = mapped_column(Text)
    call_made: Mapped[bool] = _no()
    callback_at: Mapped[datetime | None]
    comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(index=True)  # reports read by day (0010)


class OutboxRow(Base):
    """An outcome waiting for the CRM; ``id`` is the delivery order (never reused)."""

    __tablename__ = "outbox"
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - SQLAlchemy's form

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    outcome_id: Mapped[int] = mapped_column(ForeignKey("outcomes.id"), unique=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(unique=True)
    payload_json: Mapped[str] = mapped_column(Text)
    tries: Mapped[int] = _zero()
    next_try_at: Mapped[datetime | None] = mapped_column(index=True)
    delivered_at: Mapped[datetime | None]
    dead: Mapped[bool] = _no()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class TelephonyRow(Base):
    """A RetailCRM telephony request waiting to be sent (issue 17 §2): a call event or a
    call upload, delivered by the node that made the call, in ``id`` order per attempt."""

    __tablename__ = "telephony_outbox"
    __table_args__ = (
        CheckConstraint(_one_of("kind", ("event", "upload")), name="kind"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    node: Mapped[str] = mapped_column(index=True)
    attempt_id: Mapped[str]
    kind: Mapped[str]
    payload_json: Mapped[str] = mapped_column(Text)
    tries: Mapped[int] = _zero()
    next_try_at: Mapped[datetime | None] = mapped_column(index=True)
    delivered_at: Mapped[datetime | None]
    dead: Mapped[bool] = _no()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class NumberingRange(Base):
    """One row of the Russian numbering plan: ``prefix`` + 7-digit numbers in a range."""

    __tablename__ = "numbering_ranges"
    __table_args__ = (Index(None, "prefix", "range_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    prefix: Mapped[int]
    range_from: Mapped[int]
    range_to: Mapped[int]
    capacity: Mapped[int]
    operator: Mapped[str] = mapped_column(Text)
    region: Mapped[str] = mapped_column(Text)


class NumberingMeta(Base):
    """Where the current numbering table came from (one row, id 1)."""

    __tablename__ = "numbering_meta"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(Text)
    imported_at: Mapped[datetime]
    row_count: Mapped[int]


class DoNotCall(Base):
    """A number that must never be dialled."""

    __tablename__ = "do_not_call"

    e164: Mapped[str] = mapped_column(primary_key=True)
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    added_at: Mapped[datetime]


class ApiToken(Base):
    """A bearer token of the web API: its name, role and the SHA-256 of its secret (never the
    secret itself). Revoked tokens are kept, with ``revoked_at``, for the record."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint(_one_of("role", TOKEN_ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(unique=True)
    role: Mapped[str]
    token_hash: Mapped[str] = mapped_column(unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class AgentCredential(Base):
    """An agent's sign-in password for the workspace: a salted scrypt hash with its parameters
    (``scrypt$n=…,r=…,p=…$salt$hash``, never the password), the wrong passwords in a row and
    the end of a lockout (``dialer.agent_auth``)."""

    __tablename__ = "agent_credentials"

    agent_id: Mapped[str] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    password_hash: Mapped[str] = mapped_column(Text)
    failed_attempts: Mapped[int] = _zero()
    locked_until: Mapped[datetime | None]
    changed_at: Mapped[datetime]


class AgentSessionRow(Base):
    """A signed-in agent's workspace session. ``token_hash`` is the SHA-256 of the cookie's
    secret (the secret itself is stored nowhere); ``csrf_token`` is what every POST must
    echo in ``X-CSRF-Token``."""

    __tablename__ = "agent_sessions"

    token_hash: Mapped[str] = mapped_column(primary_key=True)
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    last_seen_at: Mapped[datetime]


class SupervisorRow(Base):
    """A supervisor (issue 19): signs in to the dashboard, is never offered calls and is not
    in the agents' pool. ``extension`` is the supervisor's own phone (digits only), rung for
    listen, whisper and barge through the campaign's agent channel template."""

    __tablename__ = "supervisors"

    id: Mapped[str] = mapped_column(primary_key=True)
    display_name: Mapped[str]
    extension: Mapped[str | None]
    created_at: Mapped[datetime]


class SupervisorCredential(Base):
    """A supervisor's password hash and lockout, as ``AgentCredential`` (the attribute keeps
    the agents' name, ``agent_id``, so one store serves both; the column is supervisor_id)."""

    __tablename__ = "supervisor_credentials"

    agent_id: Mapped[str] = mapped_column(
        "supervisor_id", ForeignKey("supervisors.id", ondelete="CASCADE"), primary_key=True
    )
    password_hash: Mapped[str] = mapped_column(Text)
    failed_attempts: Mapped[int] = _zero()
    locked_until: Mapped[datetime | None]
    changed_at: Mapped[datetime]


class SupervisorSessionRow(Base):
    """A signed-in supervisor's dashboard session, as ``AgentSessionRow``."""

    __tablename__ = "supervisor_sessions"

    token_hash: Mapped[str] = mapped_column(primary_key=True)
    agent_id: Mapped[str] = mapped_column(
        "supervisor_id", ForeignKey("supervisors.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    last_seen_at: Mapped[datetime]


AUDIT_ACTIONS = (
    "listen", "whisper", "barge", "sign_in", "sign_out", "view_report", "play_recording", "why",
)  # fmt: skip
AUDIT_RESULTS = ("accepted", "refused")


class AuditRow(Base):
    """One supervisor action (issue 19): who (a supervisor's id or an API token's name, and
    which of the two), what, whose call (attempt, order, agent), when, and whether the dialer
    accepted it, with the reason when it refused."""

    __tablename__ = "supervision_audit"
    __table_args__ = (
        CheckConstraint(_one_of("action", AUDIT_ACTIONS), name="action"),
        CheckConstraint(_one_of("result", AUDIT_RESULTS), name="result"),
        CheckConstraint(_one_of("actor_kind", ("supervisor", "token")), name="actor_kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str]
    actor_kind: Mapped[str]
    action: Mapped[str]
    attempt_id: Mapped[str | None]
    order_id: Mapped[str | None]
    agent_id: Mapped[str | None]
    result: Mapped[str]
    detail: Mapped[str | None] = mapped_column(Text)


class CrmCursor(Base):
    """Where a CRM's incremental intake goes on (``crm_adapter.port.IncrementalIntake``):
    the adapter's opaque cursor, written after the orders it covers were admitted."""

    __tablename__ = "crm_cursors"

    name: Mapped[str] = mapped_column(primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
