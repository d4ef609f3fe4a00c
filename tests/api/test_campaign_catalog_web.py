"""Issue 21: /api/v1/campaigns over raw HTTP through the real twisted.web site: create, change,
preview, pause, archive, history and rollback; who may (ops token, signed-in supervisor) and
who may not (crm and viewer tokens, an agent's session: 403); a bad value is a 400 naming
the field and writes nothing; a stale version a 409; Cyrillic names in the URL."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from agent_web import OWN, PASSWORD, refusal
from agent_web import Browser as AgentBrowser
from api_harness import NOW, Dialer
from http_wire import WireResponse, exchange, raw_request
from twisted.internet.task import Clock

from dialer.agent_auth.passwords import PasswordHasher
from dialer.catalog.memory import MemoryCatalog
from dialer.catalog.ports import CampaignCatalog
from dialer.storage.catalog import SqlCampaignCatalog
from dialer.storage.supervisors import SqlSupervisors
from dialer.web import site as web
from dialer.web.agent.app import build_agent
from dialer.web.api.app import build_api
from dialer.web.supervisor import build_supervisors

SUPERVISOR_PASSWORD = "наблюдатель-1"  # noqa: S105 - a test password
NAME = "Магазин НФ"  # a Cyrillic campaign name, URL-encoded in paths
PATH = f"/api/v1/campaigns/{quote(NAME, safe='')}"


class Site:
    """The site with a catalog; requests as an ops/crm/viewer token or the supervisor."""

    def __init__(
        self, dialer: Dialer, catalog: CampaignCatalog, crm_kind: str | None = None
    ) -> None:
        self.dialer, self.catalog = dialer, catalog
        SqlSupervisors(dialer.engine).add("anna", NOW, name="Анна", extension="201")
        parts = build_supervisors(dialer.engine, dialer.ops, dialer.agent_auth,
                                  hasher=PasswordHasher(n=2**10))  # fmt: skip
        parts.auth.set_password("anna", SUPERVISOR_PASSWORD)
        api = build_api(dialer.engine, dialer.ops, dialer.agent_auth, parts, catalog=self.catalog,
                        crm_kind=crm_kind)  # fmt: skip
        agent = build_agent(dialer.engine, dialer.ops, dialer.agent_auth, dialer.feed,
                            reactor=dialer.reactor, secure=False)  # fmt: skip
        self.site = web.build_site(Clock(), None, lambda _: 0, lambda: (True, {}),
                                   lambda: dialer.now, extra={b"api": api, b"agent": agent,
                                   b"supervisor": parts.resource})  # fmt: skip
        self.session: dict[str, str] = {}

    def send(self, method: str, path: str, body: Any = None, **headers: str) -> WireResponse:
        sent = {k.replace("_", "-").encode(): v.encode() for k, v in headers.items()}
        data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        return exchange(self.site, raw_request(method.encode(), path.encode(), sent, data))

    def as_role(self, role: str, method: str, path: str, body: Any = None) -> WireResponse:
        token = self.dialer.tokens[role]
        return self.send(method, path, body, Authorization=f"Bearer {token}")

    def as_supervisor(self, method: str, path: str, body: Any = None) -> WireResponse:
        if not self.session:
            login = {"login": "anna", "password": SUPERVISOR_PASSWORD}
            reply = self.send("POST", "/supervisor/login", login, Origin=OWN)
            cookie = reply.headers["set-cookie"].split(";")[0]
            self.session = {"Cookie": cookie, "X_CSRF_Token": reply.json()["csrf_token"],
                            "Origin": OWN}  # fmt: skip
        return self.send(method, path, body, **self.session)

    def create(self, name: str = NAME, **settings: Any) -> WireResponse:
        return self.as_role("ops", "POST", "/api/v1/campaigns",
                            {"settings": {"name": name, **settings}})  # fmt: skip


@pytest.fixture(params=["memory", "sqlite"])
def site(dialer: Dialer, request: pytest.FixtureRequest) -> Site:
    """The API over the in-memory catalog and over the database's (SQLite)."""
    sql = request.param == "sqlite"
    return Site(dialer, SqlCampaignCatalog(dialer.engine) if sql else MemoryCatalog())


def ok(reply: WireResponse, status: int = 200) -> Any:
    assert reply.status == status, reply.body.decode()
    return reply.json()


# ---- create, show, list -------------------------------------------------------------------


def test_an_ops_token_creates_a_campaign_with_a_cyrillic_name_and_reads_it_back(
    site: Site,
) -> None:
    made = ok(site.create(window={"start": "09:00", "end": "18:00"}), 201)
    assert (made["name"], made["state"], made["version"]) == (NAME, "active", 1)
    assert made["updated_by"] == "token:ops"
    shown = ok(site.as_role("viewer", "GET", PATH))
    assert shown["settings"]["window"]["start"] == "09:00"
    assert shown["settings"]["intake_statuses"] == ["Ожидает подтверждения"]  # the defaults
    listed = ok(site.as_role("crm", "GET", "/api/v1/campaigns"))
    assert [(c["name"], c["state"], c["version"]) for c in listed["campaigns"]] == [
        (NAME, "active", 1)
    ]
    assert listed["defaults"]["name"] == "" and listed["defaults"]["window"]["end"] == "19:00"


def test_a_retailcrm_service_gives_a_new_campaign_retailcrms_status_codes(dialer: Dialer) -> None:
    """As a service file with ``[crm] kind = "retailcrm"`` does (docs/crm.md)."""
    site = Site(dialer, MemoryCatalog(), crm_kind="retailcrm")
    assert ok(site.as_role("viewer", "GET", "/api/v1/campaigns"))["defaults"][
        "intake_statuses"
    ] == ["new"]
    made = ok(site.create(), 201)
    shown = ok(site.as_role("viewer", "GET", PATH))
    assert (made["version"], shown["settings"]["intake_statuses"]) == (1, ["new"])
    assert "client-confirmed" in shown["settings"]["crm_confirmed_statuses"]


def test_a_name_taken_already_is_a_409_naming_the_name(site: Site) -> None:
    ok(site.create(), 201)
    refusal(site.create(), 409, "campaign.name")
    assert [v.version for v in site.catalog.history(NAME)] == [1]


def test_an_unknown_campaign_is_a_404(site: Site) -> None:
    refusal(site.as_role("ops", "GET", f"/api/v1/campaigns/{quote('Нет такой')}"), 404, "name")
    refusal(site.as_role("ops", "PATCH", f"/api/v1/campaigns/{quote('Нет такой')}",
                         {"changes": {}}), 404, "name")  # fmt: skip


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"window": {"start": "25:00"}}, "campaign.window.start"),
        ({"window": {"start": "19:00", "end": "10:00"}}, "campaign.window.start"),
        ({"window": {"weekdays": []}}, "campaign.window.weekdays"),
        ({"window": {"holidays": ["31.12.2026"]}}, "campaign.window.holidays[0]"),
        ({"retry": {"quick_retry_min_s": 500, "quick_retry_max_s": 100}},
         "campaign.retry.quick_retry_min_s"),
        ({"intake_statuses": []}, "campaign.intake_statuses"),
        ({"default_tz": "Europe/Нигде"}, "campaign.default_tz"),
        ({"ring_timeout_s": "тридцать"}, "campaign.ring_timeout_s"),
        ({"windows": {}}, "campaign.windows"),
    ],
)  # fmt: skip
def test_a_bad_value_is_a_400_naming_the_field_and_nothing_is_created(
    site: Site, settings: dict[str, Any], field: str
) -> None:
    refusal(site.create(**settings), 400, field)
    assert site.catalog.entries(include_archived=True) == []


def test_create_needs_a_name_and_settings_as_an_object(site: Site) -> None:
    refusal(site.as_role("ops", "POST", "/api/v1/campaigns", {"settings": {}}), 400,
            "campaign.name")  # fmt: skip
    refusal(site.as_role("ops", "POST", "/api/v1/campaigns", {"settings": []}), 400, "settings")
    refusal(site.create(" пробел "), 400, "campaign.name")
    refusal(site.create("a/b"), 400, "campaign.name")


# ---- who may --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["crm", "viewer"])
def test_crm_and_viewer_tokens_get_403_on_every_write(site: Site, role: str) -> None:
    ok(site.create(), 201)
    writes = [("POST", "/api/v1/campaigns", {"settings": {"name": "Другая"}}),
              ("PATCH", PATH, {"changes": {"language": "kk"}}),
              ("POST", PATH + "/preview", {"changes": {}}),
              ("POST", PATH + "/pause", {"reason": "обед"}), ("POST", PATH + "/resume", {}),
              ("POST", PATH + "/archive", {}),
              ("POST", PATH + "/rollback", {"version": 1})]  # fmt: skip
    for method, path, body in writes:
        assert site.as_role(role, method, path, body).status == 403, (method, path)
    assert [e.version for e in site.catalog.entries()] == [1]
    assert site.catalog.get(NAME).state == "active"


def test_an_agents_session_gets_403_on_the_catalog(site: Site, dialer: Dialer) -> None:
    ok(site.create(), 201)
    dialer.agent_auth.set_password("1001", PASSWORD)
    agent = AgentBrowser(dialer)
    assert agent.login("1001", PASSWORD).status == 200
    for method, path, body in (("GET", "/api/v1/campaigns", None),
                               ("PATCH", PATH, {"changes": {"language": "kk"}})):  # fmt: skip
        reply = site.send(method, path, body, Cookie=f"cbd_agent={agent.cookie}", Origin=OWN)
        refusal(reply, 403, "cbd_agent")
    assert site.catalog.get(NAME).version == 1


def test_a_signed_in_supervisor_edits_and_is_recorded_as_the_author(site: Site) -> None:
    ok(site.create(), 201)
    changed = ok(site.as_supervisor("PATCH", PATH, {"changes": {"window": {"end": "20:00"}},
                                                    "expected_version": 1}))  # fmt: skip
    assert (changed["version"], changed["updated_by"]) == (2, "supervisor:anna")
    assert changed["settings"]["window"] == {**changed["settings"]["window"], "start": "10:00",
                                             "end": "20:00"}  # nested tables merge  # fmt: skip


# ---- change, preview, conflicts ------------------------------------------------------------


def test_a_bad_change_is_a_400_naming_the_field_and_writes_no_version(site: Site) -> None:
    ok(site.create(), 201)
    bad = {"changes": {"window": {"start": "9 утра"}}, "expected_version": 1}
    refusal(site.as_role("ops", "PATCH", PATH, bad), 400, "campaign.window.start")
    refusal(site.as_role("ops", "PATCH", PATH, {"changes": {"name": "Другое"}}), 400,
            "campaign.name")  # fmt: skip
    refusal(site.as_role("ops", "PATCH", PATH, {"changes": "x"}), 400, "changes")
    refusal(site.as_role("ops", "PATCH", PATH, {"changes": {}, "expected_version": "1"}), 400,
            "expected_version")  # fmt: skip
    assert [v.version for v in site.catalog.history(NAME)] == [1]


def test_a_stale_expected_version_is_a_409_and_writes_nothing(site: Site) -> None:
    ok(site.create(), 201)
    ok(site.as_role("ops", "PATCH", PATH, {"changes": {"language": "kk"}, "expected_version": 1}))
    stale = {"changes": {"window": {"start": "09:00"}}, "expected_version": 1}
    refusal(site.as_role("ops", "PATCH", PATH, stale), 409, "expected_version")
    assert site.catalog.get(NAME).version == 2
    assert json.loads(site.catalog.get(NAME).settings_json)["window"]["start"] == "10:00"


def test_the_preview_counts_the_queue_and_writes_nothing(site: Site, dialer: Dialer) -> None:
    """09:00 UTC is 12:00 in Moscow: a window from 13:00 holds back the queued orders."""
    ok(site.create(dialer.settings.name), 201)  # the harness's campaign "shop" and its queue
    dialer.admit("НФ-00123")
    dialer.admit("НФ-00124", phone="+79165830422")
    path = "/api/v1/campaigns/shop/preview"
    said = ok(site.as_role("ops", "POST", path, {"changes": {"window": {"start": "13:00"}}}))
    assert (said["queued"], said["callable_now_before"], said["callable_now_after"]) == (2, 2, 0)
    assert said["sentences"][0] == (
        "С этим окном 0 заказов в очереди станут к звонку сейчас; 0 перейдут на завтра или позже."
    )
    assert "2 заказа из звонимых сейчас подождут открытия окна." in said["text"]
    refusal(site.as_role("ops", "POST", path, {"changes": {"window": {"end": "99:00"}}}), 400,
            "campaign.window.end")  # fmt: skip
    assert site.catalog.get("shop").version == 1


# ---- state, history, rollback --------------------------------------------------------------


def test_pause_needs_a_reason_then_resume_and_archive(site: Site) -> None:
    ok(site.create(), 201)
    refusal(site.as_role("ops", "POST", PATH + "/pause", {}), 400, "reason")
    paused = ok(site.as_role("ops", "POST", PATH + "/pause", {"reason": "обучение"}))
    assert (paused["state"], paused["paused_reason"]) == ("paused", "обучение")
    assert paused["version"] == 1  # a pause is no settings version
    assert ok(site.as_role("ops", "POST", PATH + "/resume"))["state"] == "active"
    assert ok(site.as_role("ops", "POST", PATH + "/archive"))["state"] == "archived"
    assert ok(site.as_role("ops", "GET", "/api/v1/campaigns"))["campaigns"] == []
    listed = ok(site.as_role("ops", "GET", "/api/v1/campaigns?all=1"))["campaigns"]
    assert [c["state"] for c in listed] == ["archived"]
    refusal(site.as_role("ops", "PATCH", PATH, {"changes": {"language": "kk"}}), 409, "state")


def test_history_lists_the_changed_fields_and_rollback_writes_a_new_version(
    site: Site, dialer: Dialer
) -> None:
    ok(site.create(), 201)
    dialer.now += timedelta(minutes=5)
    weekdays = [0, 1, 2, 3, 4]  # no weekends
    ok(
        site.as_supervisor(
            "PATCH", PATH, {"changes": {"window": {"start": "09:00", "weekdays": weekdays}}}
        )
    )
    back = ok(site.as_role("ops", "POST", PATH + "/rollback", {"version": 1}))
    assert (back["version"], back["settings"]["window"]["start"]) == (3, "10:00")
    versions = ok(site.as_role("viewer", "GET", PATH + "/history"))["versions"]
    assert [(v["version"], v["author"], v["note"]) for v in versions] == [
        (3, "token:ops", "rollback to 1"), (2, "supervisor:anna", None), (1, "token:ops", None),
    ]  # fmt: skip
    assert versions[1]["changes"] == [
        {"field": "campaign.window.start", "before": "10:00", "after": "09:00"},
        {"field": "campaign.window.weekdays", "before": [0, 1, 2, 3, 4, 5, 6],
         "after": [0, 1, 2, 3, 4]},
    ]  # fmt: skip
    assert versions[1]["created_at"] == (NOW + timedelta(minutes=5)).isoformat()
    assert versions[2]["changes"] == []
    refusal(site.as_role("ops", "POST", PATH + "/rollback", {"version": 9}), 400, "version")
    refusal(site.as_role("ops", "POST", PATH + "/rollback", {"version": 0}), 400, "version")
    assert site.catalog.get(NAME).version == 3
