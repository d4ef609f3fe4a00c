"""The verdict an answered call gets without an agent (``[service] auto_disposition``): none
(the agent gives it), always "confirmed" (test-double agents), or "scripted" (the demo CRM's
script says it per order; any other CRM: confirmed)."""

from __future__ import annotations

from campaigns.crm_results import agent_result_wait_s
from campaigns.dispositions import Disposition, DispositionKind
from campaigns.settings import CampaignSettings
from crm_adapter.demo import DemoCrm
from crm_adapter.port import CrmAdapter


class AutoDisposition:
    """Called with an order id whose call was answered; None: the agent's verdict is awaited."""

    def __init__(self, mode: str, crm: CrmAdapter) -> None:
        self._mode = mode
        self._script = crm if isinstance(crm, DemoCrm) else None

    @property
    def enabled(self) -> bool:
        return self._mode != "none"

    def result_wait_s(self, campaign: CampaignSettings) -> int | None:
        """How long an agent whose call was answered waits, offered nothing, for its own
        result (``wrap_up_max_s``); None when the results come by themselves, or from the
        CRM (``disposition_source`` "crm": the agent records it there, not on our page)."""
        return None if self.enabled else agent_result_wait_s(campaign)

    def __call__(self, order_id: str) -> Disposition | None:
        if self._mode == "confirmed" or (self._mode == "scripted" and self._script is None):
            return Disposition(DispositionKind.CONFIRMED)
        if self._mode != "scripted" or self._script is None:
            return None
        verdict = self._script.verdict(order_id)
        return Disposition(
            DispositionKind(verdict.kind), reason=verdict.reason, callback_at=verdict.callback_at
        )
