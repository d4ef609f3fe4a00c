"""Issue 8: SIGKILL the service at each step of an attempt; after a restart nothing is lost
and nothing is duplicated.

For each step of ``dialer.faults.STEPS`` the real service runs against the real Asterisk and
the HTTP CRM double with ``CALLBACK_DIALER_CRASH_AT=<step>``: it kills itself with SIGKILL
the first time it passes the step. It is started again without the variable and runs until
every order is confirmed and every outcome delivered. Then: each order's outcomes reached the
CRM once each, in order (at the ``outbox_delivering`` step the CRM saw the same idempotency
key twice and applied it once); nothing is left claimed or dialling; Asterisk's log shows
exactly one Originate per attempt; no two attempts of one order overlap.
"""

from __future__ import annotations

import re
import signal
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asterisk_fixtures import AsteriskInstance
from crm_servers import HttpJsonCrm
from fault_harness import DialerView, check_settled, http_crm_section, seed
from service_harness import ServiceProcess, ShopOrder, wait_for, write_config

from dialer.faults import ENV_VAR, STEPS

pytestmark = pytest.mark.asterisk

ORDERS = [  # the customer numbers end in 21: they answer and hang up after 2 s
    ShopOrder("01", "+79165830121", "Татьяна", "AlcoBlocker", minutes_ago=9),
    ShopOrder("02", "+79165830221", "Александр", "Prostonor", minutes_ago=8),
    ShopOrder("03", "+79165830321", "Николай", "Перуанская мака", minutes_ago=7),
]
SERVICE = {"claim_lease_s": 3, "status_max_age_s": 5}


@pytest.mark.parametrize("step", STEPS)
def test_sigkill_at_each_step_then_restart_loses_and_duplicates_nothing(
    step: str, asterisk: AsteriskInstance, http_crm: HttpJsonCrm, tmp_path: Path
) -> None:
    orders = [replace(o, id=f"{STEPS.index(step) + 1}{o.id}") for o in ORDERS]
    seed(http_crm, orders, datetime.now(UTC))
    dialer = DialerView(f"sqlite:///{tmp_path / 'dialer.db'}")
    crm = http_crm_section(http_crm, tmp_path)
    config = write_config(tmp_path, asterisk, None, service=SERVICE, crm=crm)

    first = ServiceProcess(config, dialer.url, asterisk, "first", env={ENV_VAR: step})
    try:
        code = first.proc.wait(30)
    finally:
        first.ensure_gone()
    assert code == -signal.SIGKILL, first.output()[-3000:]
    assert f"crash point {step}: SIGKILL" in first.output()
    _left_at(step, dialer, http_crm)

    second = ServiceProcess(config, dialer.url, asterisk, "second")
    try:
        wait_for(lambda: dialer.settled([o.id for o in orders]), 40, second)
        recovered_s = time.monotonic() - second.started_at
        assert second.stop() == 0
    finally:
        second.ensure_gone()

    settled = check_settled(dialer, http_crm, asterisk, orders)
    log = second.new_log()
    again = re.findall(r"outcome (\S+) of order \S+ was already in the CRM", log)
    if step == "outbox_delivering":  # the CRM had applied it; the kill came before the mark
        assert http_crm.duplicates == 1 and len(again) == 1
        assert again[0] == http_crm.applied[0]["event_id"]
    else:
        assert http_crm.duplicates == 0 and not again
    dialer.dispose()
    print(f"\nkill at {step}: {settled}, settled {recovered_s:.1f} s after the restart, "
          f"recovered attempts {len(re.findall('recovering attempt', log))}")  # fmt: skip


def _left_at(step: str, dialer: DialerView, crm: HttpJsonCrm) -> None:
    """What the kill left behind shows it came at ``step``."""
    phases = [phase for phase, _ in dialer.phases().values()]
    live = [a for a in dialer.attempts() if a.ended_at is None]
    outbox = dialer.outbox()
    if step == "claimed":
        assert "claimed" in phases and not dialer.attempts()
    elif step in ("originating", "agent_ringing", "bridged"):
        assert live and "dialing" in phases and not outbox
    elif step == "outcome_written":
        assert len(outbox) == 1 and not outbox[0][2] and not crm.applied
    else:
        assert len(outbox) >= 1 and not outbox[0][2]
        assert [a["event_id"] for a in crm.applied] == [outbox[0][1]]
