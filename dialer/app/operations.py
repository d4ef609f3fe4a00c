"""What ops and the CRM may do to a running dialer: dispositions, requeue, cancel, agents,
campaign pause and settings, outbox replay. The web API calls this; it never reads a clock.

Errors::

    OperationError          a request the dialer refuses
    ├── NotFoundError       no such order, agent or campaign
    ├── ConflictError       the order or agent is in a state that cannot take the request
    └── InvalidRequestError a value is wrong; ``field`` names it

Every call runs on the service's loop (one at a time with the dispatcher) and wakes the
dispatch round when it may have made work due. With several campaigns in one service an
order's request (result, requeue, cancel, call now) goes to the dispatcher of the campaign
the order is stored under; the campaign controls (pause, settings) are the first campaign's.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from typing import Any

from campaigns.dispositions import Disposition
from campaigns.lifecycle import TransitionError
from campaigns.orders import Order
from campaigns.settings import CampaignSettings
from dialer.catalog.ports import VersionConflictError
from dialer.config.campaign import ConfigError, campaign_from_mapping
from dialer.dispatch.dispatcher import Dispatcher, DispatchError, WindowClosedError
from dialer.storage.agents import Change, SqlAgentRegistry, UnknownAgentError
from dialer.storage.campaigns import CampaignRecord, SqlCampaignStore
from dialer.storage.engine import Database
from dialer.storage.errors import InvalidValueError
from dialer.storage.order_admin import campaign_of, requeue_if_queued
from dialer.storage.outbox import replay

Clock = Callable[[], datetime]


class OperationError(Exception):
    """A request the dialer refuses; the message says why."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFoundError(OperationError):
    """No such order, agent or campaign."""


class ConflictError(OperationError):
    """The order or agent cannot take this request in its current state."""


class InvalidRequestError(OperationError):
    """A value is wrong; ``field`` names it."""


class Operations:
    """The running campaign's controls, wired by the composition root."""

    def __init__(
        self,
        *,
        engine: Database,
        dispatcher: Dispatcher,
        clock: Clock,
        wake: Callable[[], None],
        accept: Callable[[list[Order]], int],
        order_url: str | None = None,
        dispatchers: Mapping[str, Dispatcher] | None = None,
    ) -> None:
        """``dispatcher``: the first campaign's; ``dispatchers``: every campaign's by name
        (several campaigns in one service)."""
        self._engine = engine
        self.order_url = order_url  # [crm] order_url, for the order card's link
        self._dispatcher = dispatcher
        self._dispatchers = dict(dispatchers or {})
        self._clock = clock
        self._wake = wake
        self._accept = accept
        self._agents = SqlAgentRegistry(engine)
        self._campaigns = SqlCampaignStore(engine)

    @property
    def campaign(self) -> str:
        return self._dispatcher.settings.name

    @property
    def settings(self) -> CampaignSettings:
        return self._dispatcher.settings

    @property
    def campaigns(self) -> tuple[str, ...]:
        """Every campaign of the service by name, the first (``campaign``) first."""
        rest = (name for name in self._dispatchers if name != self.campaign)
        return (self.campaign, *rest)

    def campaign_settings(self, name: str) -> CampaignSettings:
        """The settings of the service's campaign ``name`` (not one of them: the first's)."""
        found = self._dispatchers.get(name)
        return self._dispatcher.settings if found is None else found.settings

    def settings_for(self, order_id: str) -> CampaignSettings:
        """The settings of the campaign ``order_id`` is stored under (an unknown order: the
        first campaign's)."""
        return self._for(order_id).settings

    def now(self) -> datetime:
        return self._clock()

    # ---- orders ------------------------------------------------------------------------

    def admit(self, orders: list[Order]) -> int:
        return self._accept(orders)

    def dispose(self, order_id: str, disposition: Disposition) -> None:
        if disposition.owner is not None:
            try:
                self._agents.get(disposition.owner)
            except UnknownAgentError as exc:
                raise InvalidRequestError(f"owner: {exc}", "owner") from exc
        dispatcher = self._for(order_id)
        self._order_call(lambda: dispatcher.on_disposition(order_id, disposition, self._clock()))

    def call_now(self, order_id: str, agent_id: str) -> None:
        """A manager's click-to-call: the queued order, due now, offered to ``agent_id``
        first (``Dispatcher.call_now``); ConflictError outside the calling window or when the
        order is not queued."""
        try:
            self._agents.get(agent_id)
        except UnknownAgentError as exc:
            raise NotFoundError(str(exc)) from exc
        try:
            self._for(order_id).call_now(order_id, agent_id, self._clock())
        except WindowClosedError as exc:
            raise ConflictError(str(exc)) from exc
        except DispatchError as exc:
            raise NotFoundError(str(exc)) from exc
        except TransitionError as exc:
            raise ConflictError(str(exc)) from exc
        self._wake()

    def requeue(self, order_id: str) -> None:
        dispatcher = self._for(order_id)
        self._order_call(lambda: dispatcher.requeue(order_id, self._clock()))

    def cancel(self, order_id: str) -> None:
        dispatcher = self._for(order_id)
        self._order_call(lambda: dispatcher.cancel(order_id))

    def _for(self, order_id: str) -> Dispatcher:
        """The dispatcher of the order's campaign (an unknown order: the first campaign's,
        which answers NotFound)."""
        if not self._dispatchers:
            return self._dispatcher
        campaign = campaign_of(self._engine, order_id)
        return self._dispatchers.get(campaign or "", self._dispatcher)

    def _order_call(self, call: Callable[[], None]) -> None:
        try:
            call()
        except DispatchError as exc:
            raise NotFoundError(str(exc)) from exc
        except TransitionError as exc:
            raise ConflictError(str(exc)) from exc
        self._wake()

    # ---- agents ------------------------------------------------------------------------

    def agent(
        self, action: str, agent_id: str, reason: str | None = None, *, by: str = "ops"
    ) -> Change:
        """Apply ``action`` (login, logout, pause, resume) to ``agent_id``; ``by``: who asked
        (recorded in the agents' state history)."""
        now = self._clock()
        try:
            if action == "pause":
                change = self._agents.pause(agent_id, now, reason or "", by=by)
            else:
                change = getattr(self._agents, action)(agent_id, now, by=by)
        except UnknownAgentError as exc:
            raise NotFoundError(str(exc)) from exc
        except InvalidValueError as exc:
            if "reason" in str(exc):
                raise InvalidRequestError(str(exc), "reason") from exc
            raise ConflictError(str(exc)) from exc
        self._wake()
        return change

    # ---- the campaign ------------------------------------------------------------------

    def campaign_record(self) -> CampaignRecord:
        record = self._campaigns.get(self.campaign)
        if record is None:
            return self._campaigns.set_settings(self.campaign, self._clock(), self._json())
        return record

    def pause(self, reason: str) -> CampaignRecord:
        if not reason.strip():
            raise InvalidRequestError("a pause needs a reason", "reason")
        return self._campaigns.set_paused(self.campaign, self._clock(), reason.strip())

    def resume(self) -> CampaignRecord:
        record = self._campaigns.set_paused(self.campaign, self._clock(), None)
        self._wake()
        return record

    def change_settings(
        self, changes: Mapping[str, Any], *, replace: bool, by: str = "api"
    ) -> CampaignRecord:
        """Validated through ``dialer.config.campaign`` (errors name the field); the name cannot
        change. Saved as a new catalog version by ``by`` (the campaign's settings live in the
        database: the file does not win at the next start); this node's dispatcher uses them
        from its next round on, every other node at its next round (``SettingsFollower``)."""
        stored = self._campaigns.get(self.campaign)
        version = stored.version if stored is not None and stored.version else None
        base: dict[str, Any] = {"name": self.campaign}
        if not replace:  # over the database's version: another node may have saved since
            base = json.loads(stored.settings_json) if stored and version else self._mapping()
        merged = _merge(base, changes)
        try:
            settings = campaign_from_mapping(merged, where="campaign")
        except ConfigError as exc:
            field, _, message = str(exc).partition(": ")
            raise InvalidRequestError(message or str(exc), field) from exc
        if settings.name != self.campaign:
            raise InvalidRequestError("the running campaign's name cannot change", "campaign.name")
        text = json.dumps(settings_mapping(settings), ensure_ascii=False, sort_keys=True)
        try:
            record = self._campaigns.set_settings(
                self.campaign, self._clock(), text, author=by, expected_version=version
            )
        except VersionConflictError as exc:
            raise ConflictError(f"{exc}; read the campaign again", "campaign") from exc
        self._dispatcher.use_settings(settings)  # stored first: a failed write changes nothing
        self._wake()
        return record

    def _json(self) -> str:
        return json.dumps(self._mapping(), ensure_ascii=False, sort_keys=True)

    def _mapping(self) -> dict[str, Any]:
        return settings_mapping(self.settings)

    # ---- outbox ------------------------------------------------------------------------

    def replay(self, ids: list[int] | None) -> list[int]:
        return replay(self._engine, self._clock(), ids)


def requeue_stored(engine: Database, order_id: str, now: datetime) -> str:
    """``orders requeue`` from the command line, beside a running service: a queued order
    becomes due at ``now`` in one guarded write (the service dials it at its next round).
    An order being dialled, claimed by a round or done is refused. Returns its campaign."""
    found = requeue_if_queued(engine, order_id, now)
    if found is None:
        raise NotFoundError(f"unknown order {order_id!r}", "id")
    campaign, phase = found
    if phase != "queued":
        raise ConflictError(f"order {order_id} is {phase}, not queued", "id")
    return campaign


def settings_mapping(settings: CampaignSettings) -> dict[str, Any]:
    """``settings`` in the campaign file's form (what ``campaign_from_mapping`` reads); an
    unset optional field (``lines``) is left out, as TOML has no null."""
    values = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}
    return {name: _plain(value) for name, value in values.items() if value is not None}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, frozenset):
        return sorted(_plain(v) for v in value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _merge(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
