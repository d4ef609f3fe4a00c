"""The agents' device states over AMI, each matched to an agent by a device template.

``DeviceStateChange`` events, and the whole ``DeviceStateList`` after each (re)connect (the
states may have changed while the link was down), go to the callback of every template the
device matches. No I/O of its own: the adapter lends the link's ``action`` for the list.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from dialer.ami.results import DeviceStatus, DeviceTemplate, Headers, device_change
from dialer.ami.tracker import Action

DeviceCallback = Callable[[str, DeviceStatus], None]
"""``(agent_id, status)``: the device of this agent changed state."""


class DeviceWatches:
    """The device templates watched, each with its callback."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._watches: list[tuple[DeviceTemplate, DeviceCallback]] = []

    def watch(self, template: str, callback: DeviceCallback) -> None:
        self._watches.append((DeviceTemplate(template), callback))

    def on_device_state(self, headers: Headers) -> None:
        change = device_change(headers)
        if change is None:
            return
        for template, callback in self._watches:
            agent = template.agent(change.device)
            if agent is not None:
                callback(agent, change.status)

    async def resync(self, action: Action) -> None:
        """Hear every device state again (nothing is asked when nothing is watched)."""
        if not self._watches:
            return
        for reply in await action({"Action": "DeviceStateList"}):
            try:
                self.on_device_state(reply)
            except Exception:
                self._log.exception("device state callback failed")
