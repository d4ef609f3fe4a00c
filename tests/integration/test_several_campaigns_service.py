"""Issue 21, done when: two campaigns with different windows and agents, one
agent shared, run in one service on the real Asterisk. Each campaign's orders are dialled
only in its own window, and the shared agent gets calls from both by the stated rule: the
campaigns offer in order of ``priority`` (then name), each to its free member agents,
longest idle first. And each campaign follows its own settings in the database: a window
edited through the campaigns API (the browser editor's route) is taken by that campaign at
its next round and is in its history, and an archived campaign dials no more.

The service runs as ``callback-dialer run`` (a subprocess) against the session's private
Asterisk with the dialplan doubles (agents ending in 1 press 1; customer numbers ending in
21 answer and hang up after 2 s) and the SQL shop CRM. The campaigns' zone is chosen so
that it is about noon there now; «опт» is open now, «shop» opens at a whole minute 60-120 s
from now (windows are set in minutes).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from asterisk_fixtures import AsteriskInstance

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
from service_harness import (
    Attempt,
    DialerDb,
    ServiceProcess,
    ShopDb,
    ShopOrder,
    _pairs,
    cli,
    post_json,
    wait_for,
    write_config,
)

pytestmark = pytest.mark.asterisk
WHOLESALE_STATUS = "Опт: ожидает подтверждения"
ONLY_WHOLESALE, SHARED, ONLY_SHOP = "1001", "1011", "1021"


def noon_zone(now: datetime) -> tuple[str, datetime]:
    """A fixed-offset zone where it is about 12:00 now, and the local time there."""
    offset = 12 - now.hour  # -11..12: Etc/GMT-N is UTC+N
    zone = "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"
    return zone, now + timedelta(hours=offset)


def several_campaigns_config(
    directory: Path,
    asterisk: AsteriskInstance,
    shop: ShopDb,
    zone: str,
    shop_opens: str,
    *,
    shop_closes: str = "23:00",
    service: dict[str, Any] | None = None,
    wholesale_extra: dict[str, Any] | None = None,
) -> Path:
    """The harness's service file with ``[campaign]`` replaced by two ``[campaigns.NAME]``;
    ``wholesale_extra``: more settings of «опт»."""
    one = write_config(directory, asterisk, shop, service=service).read_text(encoding="utf-8")
    head, _, rest = one.partition("[campaign]\n")
    _, _, tail = rest.partition("[crm]\n")
    common: dict[str, Any] = {
        "default_tz": zone,
        "ring_timeout_s": 3,
        "agent_accept_timeout_s": 3,
        "wrap_up_s": 0,
        "agent_channel_template": "Local/{agent}@dialer-test-agents",
        "customer_channel_template": "Local/{number}@dialer-test-customers/n",
    }
    wholesale = {**common, "priority": 1, "agents": [ONLY_WHOLESALE, SHARED],
                 "intake_statuses": [WHOLESALE_STATUS], **(wholesale_extra or {})}  # fmt: skip
    retail = {**common, "priority": 5, "agents": [SHARED, ONLY_SHOP]}
    text = "\n".join(
        [
            head.rstrip("\n"),
            "[campaigns.shop]",
            *_pairs(retail),
            "[campaigns.shop.window]",
            f'start = "{shop_opens}"',
            f'end = "{shop_closes}"',
            '[campaigns."опт"]',
            *_pairs(wholesale),
            '[campaigns."опт".window]',
            'start = "01:00"',
            'end = "23:00"',
            "[crm]",
            tail,
        ]
    )
    path = directory / "service.toml"
    path.write_text(text, encoding="utf-8")
    return path


def agents_cli(db_url: str, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dialer", "--db", db_url, "agents", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def ended(dialer: DialerDb, *orders: str) -> bool:
    done = {a.order_id for a in dialer.attempts() if a.ended_at is not None}
    return set(orders) <= done


def answered(dialer: DialerDb, order_id: str) -> bool:
    return any(a.result == "answered" for a in dialer.attempts(order_id))


def by(attempts: list[Attempt], agent: str) -> list[str]:
    return [a.order_id for a in attempts if a.agent == agent]


def test_two_campaigns_dial_each_in_its_own_window_and_share_an_agent_by_priority(
    asterisk: AsteriskInstance, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    zone, local = noon_zone(now)
    opens_local = (local + timedelta(seconds=120)).replace(second=0, microsecond=0)
    opens_at = now + (opens_local - local)  # the instant «shop» opens
    shop = ShopDb(tmp_path / "shop.db")
    dialer = DialerDb(tmp_path / "dialer.db")
    config = several_campaigns_config(tmp_path, asterisk, shop, zone, f"{opens_local:%H:%M}")
    service = ServiceProcess(config, dialer.url, asterisk, "run")
    try:
        service.wait_log(r"started; healthz")
        agents_cli(dialer.url, "pause", SHARED, "--reason", "обед")
        # «опт» is open: its order goes to its free agent; «shop» is closed: its order waits
        # although its own agent is free
        shop.seed([ShopOrder("НФ-00001", "+79165830121", "Мария", status=WHOLESALE_STATUS),
                   ShopOrder("SHOP-1", "+79165830221", "Пётр", minutes_ago=9)],
                  datetime.now(UTC))  # fmt: skip
        wait_for(lambda: ended(dialer, "НФ-00001"), 60, service)
        for agent in (ONLY_WHOLESALE, ONLY_SHOP):
            agents_cli(dialer.url, "pause", agent, "--reason", "обед")
        shop.seed([ShopOrder("НФ-00002", "+79165830321", "Ольга", status=WHOLESALE_STATUS),
                   ShopOrder("SHOP-2", "+79165830421", "Иван", minutes_ago=8)],
                  datetime.now(UTC))  # fmt: skip
        # once «shop» opens both campaigns have due orders; only the shared agent is ready
        wait_for(lambda: datetime.now(UTC) > opens_at + timedelta(seconds=3), 200, service)
        before_open = [a for a in dialer.attempts() if a.order_id.startswith("SHOP")]
        agents_cli(dialer.url, "resume", SHARED)
        wait_for(lambda: ended(dialer, "НФ-00002", "SHOP-1", "SHOP-2"), 90, service)
        assert service.stop() == 0
    finally:
        service.ensure_gone()

    attempts = dialer.attempts()
    assert before_open == []  # «shop»'s orders waited for its window, its agent free
    shop_calls = [a for a in attempts if a.order_id.startswith("SHOP")]
    assert {a.order_id for a in shop_calls} == {"SHOP-1", "SHOP-2"}
    assert all(a.started_at >= opens_at for a in shop_calls)  # only inside its window
    assert by(attempts, ONLY_WHOLESALE) == ["НФ-00001"]  # dialled at once, «опт» open
    assert attempts[0].started_at < opens_at
    # the shared agent: «опт» (priority 1) first, then «shop»'s orders, oldest first
    assert by(attempts, SHARED) == ["НФ-00002", "SHOP-1", "SHOP-2"]
    assert by(attempts, ONLY_SHOP) == []


def api_get(base: str, token: str, path: str) -> tuple[int, Any]:
    request = urllib.request.Request(  # noqa: S310 - loopback http
        f"{base}{path}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
        return answer.status, json.loads(answer.read())


def api(base: str, token: str, method: str, path: str, body: object) -> tuple[int, Any]:
    """An ops call to ``/api/v1/campaigns/...`` (the browser editor's routes)."""
    data = json.dumps(body, ensure_ascii=False).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if method == "POST":
        return post_json(f"{base}/api/v1/campaigns/{path}", data, headers)
    request = urllib.request.Request(  # noqa: S310 - loopback http
        f"{base}/api/v1/campaigns/{path}", data=data, headers=headers, method=method
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
        return answer.status, json.loads(answer.read())


def test_each_campaign_follows_its_own_edits_and_an_archived_one_dials_no_more(
    asterisk: AsteriskInstance, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    zone, local = noon_zone(now)
    shop, dialer = ShopDb(tmp_path / "shop.db"), DialerDb(tmp_path / "dialer.db")
    opens = (local + timedelta(hours=3)).replace(minute=0)  # «shop» is closed now
    closes = f"{opens + timedelta(hours=1):%H:%M}"
    config = several_campaigns_config(
        tmp_path, asterisk, shop, zone, f"{opens:%H:%M}", shop_closes=closes
    )
    service = ServiceProcess(config, dialer.url, asterisk, "run")
    try:
        base = service.base_url()
        for name in ("shop", "опт"):  # the first start imports each campaign of the file
            service.wait_log(rf"campaign '{name}': first start, its settings imported from ")
        token = cli(dialer.url, "tokens", "create", "ops-screen", "--role", "ops").split()[0]
        shop.seed([ShopOrder("НФ-00001", "+79165830121", "Мария", status=WHOLESALE_STATUS),
                   ShopOrder("SHOP-1", "+79165830221", "Пётр", minutes_ago=9)],
                  datetime.now(UTC))  # fmt: skip
        wait_for(lambda: ended(dialer, "НФ-00001"), 60, service)  # «опт» dials: rounds run
        assert [a for a in dialer.attempts() if a.order_id == "SHOP-1"] == []
        code, saved = api(base, token, "PATCH", "shop",
                          {"changes": {"window": {"start": "00:00", "end": "23:59"}},
                           "expected_version": 1})  # fmt: skip
        assert (code, saved["version"]) == (200, 2), saved
        service.wait_log(r"campaign 'shop': now running version 2 \(by token:ops-screen\)")
        wait_for(lambda: ended(dialer, "SHOP-1"), 60, service)  # the next round: its window
        code, archived = api(base, token, "POST", urllib.parse.quote("опт") + "/archive", {})
        assert (code, archived["state"]) == (200, "archived"), archived
        shop.seed([ShopOrder("НФ-00002", "+79165830321", "Ольга", status=WHOLESALE_STATUS),
                   ShopOrder("SHOP-2", "+79165830421", "Иван", minutes_ago=8)],
                  datetime.now(UTC))  # fmt: skip
        wait_for(lambda: ended(dialer, "SHOP-2"), 60, service)
        time.sleep(4)  # «опт» had 4 s more (rounds every second or sooner): it must not dial
        assert service.stop() == 0
    finally:
        service.ensure_gone()
    assert [a.order_id for a in dialer.attempts()] == ["НФ-00001", "SHOP-1", "SHOP-2"]
    history = cli(dialer.url, "campaign", "history", "shop")
    assert "\ttoken:ops-screen\t" in history, history
    assert history.startswith("v2\t") and "changed: window.end, window.start" in history
    assert cli(dialer.url, "campaign", "history", "опт").startswith("v1\t")  # only its own


def test_each_campaign_takes_its_answered_calls_results_where_its_settings_say(
    asterisk: AsteriskInstance, tmp_path: Path
) -> None:
    """«опт» takes its results from the shop's CRM (``disposition_source = "crm"``) though
    «shop», which takes them from its agents, is the file's first campaign: a status the
    CRM calls confirmed ends «опт»'s answered order with nothing written back, while the
    same status on «shop»'s order is no result; its agent's result, given through the API,
    is written to the CRM."""
    zone, _ = noon_zone(datetime.now(UTC))
    shop, dialer = ShopDb(tmp_path / "shop.db"), DialerDb(tmp_path / "dialer.db")
    from_crm = {"disposition_source": "crm", "crm_result_read_s": 1,
                "crm_result_timeout_s": 120}  # fmt: skip
    config = several_campaigns_config(tmp_path, asterisk, shop, zone, "01:00",
                                      service={"auto_disposition": "none"},
                                      wholesale_extra=from_crm)  # fmt: skip
    service = ServiceProcess(config, dialer.url, asterisk, "run")
    try:
        service.wait_log(r"started; healthz")
        base = service.base_url()
        token = cli(dialer.url, "tokens", "create", "shop-crm", "--role", "crm").split()[0]
        shop.seed([ShopOrder("НФ-00001", "+79165830121", "Мария", status=WHOLESALE_STATUS),
                   ShopOrder("SHOP-1", "+79165830221", "Пётр", minutes_ago=9)],
                  datetime.now(UTC))  # fmt: skip
        awaiting = ("awaiting_disposition", None)
        wait_for(lambda: all(answered(dialer, o) for o in ("НФ-00001", "SHOP-1")), 90, service)
        assert {dialer.order("НФ-00001"), dialer.order("SHOP-1")} == {awaiting}
        shop.set_status("SHOP-1", "Подтвержден")
        shop.set_status("НФ-00001", "Подтвержден")
        wait_for(lambda: dialer.order("НФ-00001") == ("done", "confirmed"), 30, service)
        time.sleep(3)  # «опт»'s orders are read every 1-2 s: «shop»'s would have been by now
        assert dialer.order("SHOP-1") == awaiting
        quoted = urllib.parse.quote("НФ-00001")
        _, done = api_get(base, token, f"/api/v1/orders/{quoted}")  # the second campaign's
        assert (done["campaign"], done["phase"], done["outcome"]) == ("опт", "done", "confirmed")
        _, waiting = api_get(base, token, "/api/v1/calls/awaiting-result")
        assert [(c["order_id"], c["campaign"]) for c in waiting["calls"]] == [("SHOP-1", "shop")]
        status, body = post_json(
            f"{base}/api/v1/orders/SHOP-1/disposition", b'{"kind": "confirmed"}',
            {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )  # fmt: skip
        assert status == 200, body
        wait_for(lambda: dialer.undelivered() == 0 and shop.row("SHOP-1")["call_made"], 30,
                 service)  # fmt: skip
        assert service.stop() == 0
    finally:
        service.ensure_gone()

    assert dialer.order("SHOP-1") == ("done", "confirmed")
    written = shop.row("НФ-00001")  # «опт»'s result: nothing written back
    assert (written["comment"], written["call_made"]) == (None, None)
