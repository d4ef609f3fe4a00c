"""RetailCRM's stock status codes: the RetailCRM defaults of the mapping and of the campaign.

RetailCRM takes and returns status **codes**, never names. A new account has these stock
statuses (code «name», by group; as in RetailCRM's reference ``GET
/api/v5/reference/statuses`` and the official PHP client's ``ReferencesTest.php`` fixture):

* ``new``: ``new`` «Новый»
* ``approval``: ``availability-confirmed`` «Наличие подтверждено», ``offer-analog``,
  ``client-confirmed`` «Согласовано с клиентом», ``prepayed``
* ``assembling``, ``delivery``: the warehouse's and courier's statuses
* ``complete``: ``complete`` «Выполнен»
* ``cancel``: ``no-call`` «Недозвон», ``no-product``, ``already-buyed``,
  ``delyvery-did-not-suit``, ``prices-did-not-suit``, ``cancel-other`` «Отменен»

Stock «Недозвон» (``no-call``) sits in the **cancel** group: writing it after a first
no-answer would close the order as cancelled. So an outcome after which the dialer calls
again (a no-answer, a callback) keeps the order in ``new``; only a final outcome may move
it to a closing group (``crm check`` refuses a mapping that breaks this).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from campaigns import wording
from campaigns.outcomes import CrmFields, OutcomeKind

# outcomes after which the order stays in the queue may not use these groups
CLOSING_GROUPS = ("cancel", "complete")

RETAILCRM_MAPPING: MappingProxyType[OutcomeKind, CrmFields] = MappingProxyType({
    OutcomeKind.CONFIRMED: CrmFields("client-confirmed", None),
    OutcomeKind.CALLBACK: CrmFields("new", wording.PROBLEM_CALLBACK),
    OutcomeKind.REFUSED: CrmFields("cancel-other", wording.PROBLEM_OTHER),
    OutcomeKind.NO_ANSWER: CrmFields("new", wording.PROBLEM_NO_ANSWER),
    OutcomeKind.NO_ANSWER_FINAL: CrmFields("no-call", wording.PROBLEM_NO_ANSWER),
    OutcomeKind.INVALID: CrmFields("cancel-other", wording.PROBLEM_INVALID),
    OutcomeKind.SPAM: CrmFields("cancel-other", wording.PROBLEM_SPAM),
    OutcomeKind.DUPLICATE: CrmFields("cancel-other", wording.PROBLEM_DUPLICATE),
    OutcomeKind.CONSULT: CrmFields("new", None),
})  # fmt: skip

_CANCEL = (
    "no-call", "no-product", "already-buyed", "delyvery-did-not-suit", "prices-did-not-suit",
    "cancel-other",
)  # fmt: skip

# [campaign] defaults where [crm] kind = "retailcrm" and the file does not set them
RETAILCRM_CAMPAIGN_DEFAULTS: MappingProxyType[str, Any] = MappingProxyType({
    "intake_statuses": ("new",),
    "never_touch_statuses": (*_CANCEL, "complete"),
    "excluded_sources": (),  # orderMethod codes; stock RetailCRM has no Kaspi method
    "crm_confirmed_statuses": ("client-confirmed", "availability-confirmed"),
    "crm_refused_statuses": tuple(c for c in _CANCEL if c != "no-call"),
})  # fmt: skip
