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
    settings: CampaignSettings, *, db_url: str, snapshot: bool = False
) -> Callable[[Order, datetime], Screening]:
    """The dispatcher's screen: campaign rules plus the database's lists at ``db_url``.

    ``snapshot`` reads the do-not-call list once (the simulator, whose virtual days pass
    in seconds); otherwise every order is checked against the live list.
    """
    engine = open_database(db_url)
    dnc = DoNotCallList(engine)
    rules = ScreeningRules(
        settings=settings,
        spam=default_spam_words(settings.spam_words),
        do_not_call=frozenset(e.e164 for e in dnc.entries()) if snapshot else _DncView(dnc),
        numbering=SqlNumberingLookup(engine),
    )
    return lambda order, now: screen(order, rules, now)
