"""Wires the pure screening rules to the database's do-not-call list and numbering plan."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from campaigns.orders import Order
from campaigns.screening import Screening, ScreeningRules, screen
from campaigns.settings import CampaignSettings
from campaigns.spam import default_spam_words
from dialer.storage.dnc import DoNotCallList
from dialer.storage.migrate import open_database
from dialer.storage.numbering import SqlNumberingLookup


class _DncView:
    """``in`` over the database's do-not-call list (a Container for the core)."""

    def __init__(self, dnc: DoNotCallList) -> None:
        self._dnc = dnc

    def __contains__(self, e164: object) -> bool:
        return isinstance(e164, str) and self._dnc.contains(e164)


def make_screen(
    settings: CampaignSettings, *, db_url: str
) -> Callable[[Order, datetime], Screening]:
    """The dispatcher's screen: campaign rules plus the database's lists at ``db_url``."""
    engine = open_database(db_url)
    rules = ScreeningRules(
        settings=settings,
        spam=default_spam_words(settings.spam_words),
        do_not_call=_DncView(DoNotCallList(engine)),
        numbering=SqlNumberingLookup(engine),
    )
    return lambda order, now: screen(order, rules, now)
