"""RetailCRM as its official clients and reference describe it (issue 17 §1).

The double's shapes come from RetailCRM's official API clients; each fixture's source file is
named in ``retailcrm_fixtures``' docstring and, where a test leans on one, in the test.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
import tomllib
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from crm_backends import FakeClock, RetailBackend, retail_order
from crm_servers import API_KEY, RetailCrmDouble
from retailcrm_fixtures import STOCK_GROUPS, custom_field
from test_crm_contract import delivery, order

from campaigns.outcomes import DEFAULT_CRM_MAPPING, CrmFields, OutcomeKind, crm_problem
from campaigns.settings import CampaignSettings
from crm_adapter.config import parse_crm_config
from crm_adapter.errors import (
    CrmConfigError,
    CrmPermanentError,
    CrmRejectedError,
    CrmUnavailableError,
    OrderGoneError,
    PermanentRejectionError,
)
from crm_adapter.factory import make_adapter
from crm_adapter.port import IntakeFilter
from crm_adapter.retailcrm import RetailCrmAdapter
from crm_adapter.retailcrm_codes import CLOSING_GROUPS, RETAILCRM_MAPPING
from crm_adapter.retailcrm_limits import RateLimiter, TokenBucket, shared_limiter
from dialer.config.campaign import campaign_from_mapping

INTAKE = IntakeFilter.for_campaign(CampaignSettings())
ENV = {"RETAIL_KEY": "key-of-a-shop-0123456789"}
RETAIL = {
    "kind": "retailcrm",
    "retailcrm": {"url": "https://shop.example", "api_key_env": "RETAIL_KEY"},
}


def seeded(crm: RetailCrmDouble, *ids: str) -> RetailBackend:
    backend = RetailBackend(crm, API_KEY)
    base = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)
    backend.seed([order(i, 0, created_at=base + timedelta(minutes=n)) for n, i in enumerate(ids)])
    return backend


def edit_form(crm: RetailCrmDouble) -> tuple[str, dict[str, str], dict[str, Any]]:
    method, path, _headers, body = crm.server.requests[-1]
    assert method == "POST"
    form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
    return urllib.parse.unquote(urllib.parse.urlsplit(path).path), form, json.loads(form["order"])


# --- rate limits: one limiter per key, shared by every thread --------------------------------


def test_one_bucket_serves_concurrent_threads_one_after_another() -> None:
    """Four threads of the service share a key's budget; without the lock they raced and
    several took the same token (issue 17: "one token bucket without a lock")."""
    bucket = TokenBucket(100, clock=time.monotonic, sleep=time.sleep)
    bucket.acquire()
    start = time.monotonic()
    threads = [threading.Thread(target=lambda: [bucket.acquire() for _ in range(5)])
               for _ in range(8)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - start >= 0.39 * 0.95  # 40 tokens at 100/s, never faster


def test_telephony_routes_have_their_own_40_per_second() -> None:
    """api-client-go ``rate.go``: RPS 10, TelephonyRPS 40, chosen by the ``/telephony``
    prefix of the route."""
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    for _ in range(3):
        limiter.acquire("/telephony/call/event")
    limiter.acquire("/orders")
    assert clock.sleeps == [pytest.approx(0.025), pytest.approx(0.025)]


def test_every_adapter_of_one_key_shares_one_limiter() -> None:
    clock = FakeClock()
    first = shared_limiter("key-A", clock=clock, sleep=clock.sleep)
    assert shared_limiter("key-A", clock=clock, sleep=clock.sleep) is first
    assert shared_limiter("key-B", clock=clock, sleep=clock.sleep) is not first
    config = parse_crm_config(RETAIL, ENV)
    adapters = [
        make_adapter(config, clock=lambda: datetime.now(UTC), monotonic=clock, sleep=clock.sleep)
        for _ in range(2)
    ]
    limiters = {id(a._limiter) for a in adapters if isinstance(a, RetailCrmAdapter)}
    assert len(limiters) == 1


# --- errors: 400/404 permanent with RetailCRM's text, 429/503 retried -----------------------


def test_a_validation_error_400_is_permanent_and_carries_errormsg_and_errors(
    retail_crm: RetailCrmDouble,
) -> None:
    """api-client-go ``error.go``: "Errors in the entity format" with ``errors`` by field."""
    backend = seeded(retail_crm, "E1")
    with pytest.raises(PermanentRejectionError) as error:
        backend.adapter.write_outcome(delivery("E1", "E1:1", status="no-such-status"))
    assert isinstance(error.value, CrmPermanentError)
    assert "HTTP 400 Errors in the entity format" in str(error.value)
    assert "status: Status 'no-such-status' does not exist." in str(error.value)


def test_an_unknown_order_404_is_permanent(retail_crm: RetailCrmDouble) -> None:
    backend = seeded(retail_crm, "E1")
    with pytest.raises(OrderGoneError, match="HTTP 404 Not found") as error:
        backend.adapter.write_outcome(delivery("E2", "E2:1"))
    assert isinstance(error.value, CrmPermanentError)


def test_503_is_retried_and_then_succeeds(retail_crm: RetailCrmDouble) -> None:
    backend = seeded(retail_crm, "E1")
    retail_crm.unavailable = 2
    assert backend.adapter.read_status("E1").status == "Ожидает подтверждения"
    assert backend.clock.sleeps.count(1.0) == 2  # no Retry-After: one second


def test_503_beyond_the_retries_is_left_to_the_outbox_not_permanent(
    retail_crm: RetailCrmDouble,
) -> None:
    backend = seeded(retail_crm, "E1")
    retail_crm.unavailable = 10
    with pytest.raises(CrmUnavailableError) as error:
        backend.adapter.read_status("E1")
    assert not isinstance(error.value, CrmPermanentError)


def test_an_html_405_says_the_account_does_not_exist_naming_the_url_key(
    retail_crm: RetailCrmDouble,
) -> None:
    """api-client-php ``ErrorTest.php`` (testHtmlAccountDoesntExistHandling): nginx's HTML
    405 page. A wrong URL is fixed in the config, so outcomes are kept (not permanent)."""
    backend = seeded(retail_crm, "E1")
    retail_crm.no_account = True
    with pytest.raises(CrmRejectedError, match=r"account does not exist.*crm\.retailcrm\.url") as e:
        backend.adapter.write_outcome(delivery("E1", "E1:1"))
    assert not isinstance(e.value, CrmPermanentError)


# --- orders without externalId, and one bad order in a poll ----------------------------------


def test_an_order_without_external_id_is_admitted_as_hash_id_and_addressed_by_id(
    retail_crm: RetailCrmDouble,
) -> None:
    """api-client-php ``OrdersTest.php`` (testList): order 7141, number 7141C, typed by
    phone, has no externalId."""
    backend = seeded(retail_crm, "E1")
    phone_order = retail_order(order("x", 1), 7141)
    del phone_order["externalId"]
    phone_order |= {"number": "7141C", "orderMethod": "phone"}
    retail_crm.orders["7141"] = phone_order
    assert [o.id for o in backend.adapter.fetch_waiting(INTAKE)] == ["E1", "#7141"]
    assert backend.adapter.read_status("#7141").status == "Ожидает подтверждения"
    assert urllib.parse.parse_qs(retail_crm.server.requests[-1][1].split("?")[1])["by"] == ["id"]
    backend.adapter.write_outcome(delivery("#7141", "#7141:1"))
    path, form, _edit = edit_form(retail_crm)
    assert (path, form["by"]) == ("/api/v5/orders/7141/edit", "id")
    assert retail_crm.orders["7141"]["status"] == "Недозвон"


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        ({"createdAt": None}, "createdAt: required"),
        ({"createdAt": "вчера"}, "'вчера' is not 'YYYY-MM-DD HH:MM:SS'"),
        ({"externalId": None, "id": None}, "externalId: required"),
        ({"externalId": "#12"}, "starts with '#'"),
    ],
)
def test_one_bad_order_is_skipped_with_a_warning_naming_it_and_the_poll_goes_on(
    retail_crm: RetailCrmDouble, caplog: pytest.LogCaptureFixture, broken: dict[str, Any],
    named: str,
) -> None:  # fmt: skip
    backend = seeded(retail_crm, "E1", "E2", "E3")
    retail_crm.orders["E2"] |= broken
    retail_crm.orders["E2"]["number"] = "2A"
    with caplog.at_level("WARNING", logger="crm_adapter.retailcrm"):
        got = [o.id for o in backend.adapter.fetch_waiting(INTAKE)]
    assert got == ["E1", "E3"]
    assert "number 2A" in caplog.text and "skipped" in caplog.text and named in caplog.text


# --- typed custom fields, the admin's problem codes, the manager's comment kept -------------


def test_custom_fields_are_written_typed_dictionary_code_boolean_integer(
    retail_crm: RetailCrmDouble,
) -> None:
    """api-client-php ``CustomFieldsTest.php``: a dictionary field takes its element's
    code; «Не отвечает» is the name of element ``no-answer``; a boolean takes false."""
    backend = seeded(retail_crm, "E1")
    backend.adapter.write_outcome(delivery("E1", "E1:1", call_made=False))
    _path, _form, edit = edit_form(retail_crm)
    assert edit["customFields"] == {
        "problem": "no-answer", "call": False, "callback_at": "2026-03-10 12:00:00",
        "attempts": 4, "dialer_event": "E1:1",
    }  # fmt: skip


def test_a_configured_problem_code_is_written_as_it_is(retail_crm: RetailCrmDouble) -> None:
    backend = seeded(retail_crm, "E1")
    backend.adapter.write_outcome(delivery("E1", "E1:1", problem="call-back"))
    assert edit_form(retail_crm)[2]["customFields"]["problem"] == "call-back"


def test_a_date_field_gets_the_day_only_there_is_no_datetime_type(
    retail_crm: RetailCrmDouble,
) -> None:
    retail_crm.custom_fields[2] = custom_field("callback_at", "date")
    backend = seeded(retail_crm, "E1")
    backend.adapter.write_outcome(delivery("E1", "E1:1"))
    assert edit_form(retail_crm)[2]["customFields"]["callback_at"] == "2026-03-10"


def test_a_problem_the_dictionary_lacks_is_kept_in_the_comment_and_the_edit_goes_through(
    retail_crm: RetailCrmDouble, caplog: pytest.LogCaptureFixture
) -> None:
    backend = seeded(retail_crm, "E1")
    with caplog.at_level("WARNING", logger="crm_adapter.retailcrm"):
        backend.adapter.write_outcome(delivery("E1", "E1:1", problem="Уехал на дачу"))
    edit = edit_form(retail_crm)[2]
    assert "problem" not in edit["customFields"]
    assert edit["managerComment"] == "10.03 - не отвечает-4 (Уехал на дачу)"
    assert "custom_fields.problem not written" in caplog.text
    assert retail_crm.orders["E1"]["status"] == "Недозвон"


def test_a_missing_custom_field_is_left_out_naming_it_and_the_status_still_written(
    retail_crm: RetailCrmDouble, caplog: pytest.LogCaptureFixture
) -> None:
    retail_crm.custom_fields = [f for f in retail_crm.custom_fields if f["code"] != "call"]
    backend = seeded(retail_crm, "E1")
    with caplog.at_level("WARNING", logger="crm_adapter.retailcrm"):
        backend.adapter.write_outcome(delivery("E1", "E1:1"))
    assert "call" not in edit_form(retail_crm)[2]["customFields"]
    assert "no order custom field 'call'" in caplog.text


def test_the_comment_is_appended_to_what_a_manager_wrote_and_never_twice(
    retail_crm: RetailCrmDouble,
) -> None:
    backend = seeded(retail_crm, "E1")
    retail_crm.orders["E1"]["managerComment"] = "Клиент просил звонить после обеда"
    backend.adapter.write_outcome(delivery("E1", "E1:1"))
    expected = "Клиент просил звонить после обеда\n10.03 - не отвечает-4"
    assert retail_crm.orders["E1"]["managerComment"] == expected
    retail_crm.orders["E1"]["customFields"]["dialer_event"] = "lost"  # no marker to go by
    backend.adapter.write_outcome(delivery("E1", "E1:1", retry=True))
    assert retail_crm.orders["E1"]["managerComment"] == expected
    assert "managerComment" not in edit_form(retail_crm)[2]


def test_with_status_comment_the_managers_comment_is_not_touched_nor_read(
    retail_crm: RetailCrmDouble,
) -> None:
    backend = RetailBackend(retail_crm, API_KEY, comment_to="statusComment")
    backend.seed([order("E1", 0)])
    retail_crm.orders["E1"]["managerComment"] = "менеджер"
    backend.adapter.write_outcome(delivery("E1", "E1:1"))
    edit = edit_form(retail_crm)[2]
    assert "managerComment" not in edit
    assert edit["statusComment"] == "10.03 - не отвечает-4"
    assert retail_crm.orders["E1"]["managerComment"] == "менеджер"
    assert not [r for r in retail_crm.server.requests if r[1].startswith("/api/v5/orders/E1?")]


# --- codes: RetailCRM's defaults, the admin's problem values honoured ----------------------


def test_retailcrm_defaults_are_stock_codes_and_no_answer_stays_out_of_closing_groups() -> None:
    """The stock groups of api-client-php ``ReferencesTest.php`` (testStatusGroups): stock
    ``no-call`` «Недозвон» is in ``cancel``."""
    group_of = {code: g for g, (_n, _o, codes) in STOCK_GROUPS.items() for code in codes}
    mapping = parse_crm_config(RETAIL, ENV).mapping
    assert mapping == RETAILCRM_MAPPING
    assert all(fields.status in group_of for fields in mapping.values())
    for kind in (OutcomeKind.NO_ANSWER, OutcomeKind.CALLBACK):
        assert group_of[mapping[kind].status] not in CLOSING_GROUPS
    assert parse_crm_config(RETAIL | {"kind": "http", "http": {
        "pull_url": "https://c.example/o", "status_url": "https://c.example/o/{id}",
        "outcome_url": "https://c.example/out", "secret_env": "RETAIL_KEY",
    }}, ENV).mapping[OutcomeKind.NO_ANSWER].status == "Недозвон"  # fmt: skip


def test_the_campaign_takes_retailcrm_codes_unless_the_file_sets_them() -> None:
    retail = campaign_from_mapping({}, crm_kind="retailcrm")
    assert retail.intake_statuses == ("new",)
    assert "no-call" in retail.never_touch_statuses and retail.excluded_sources == ()
    assert campaign_from_mapping({}, crm_kind="http").intake_statuses == ("Ожидает подтверждения",)
    own = campaign_from_mapping({"intake_statuses": ["dict-statuses-1"]}, crm_kind="retailcrm")
    assert own.intake_statuses == ("dict-statuses-1",)


def test_a_problem_set_in_the_mapping_replaces_the_dialers_own_text_not_a_persons_pick() -> None:
    """Issue 17: the problem values an admin sets in ``[crm.mapping.*]`` were replaced by the
    dialer's Russian texts."""
    section = RETAIL | {"mapping": {"no_answer": {"problem": "no-answer"},
                                    "refused": {"problem": "other"}}}  # fmt: skip
    mapping = parse_crm_config(section, ENV).mapping
    no_answer = mapping[OutcomeKind.NO_ANSWER]
    own_text = DEFAULT_CRM_MAPPING[OutcomeKind.NO_ANSWER].problem
    assert crm_problem(OutcomeKind.NO_ANSWER, own_text, no_answer) == "no-answer"
    refused = mapping[OutcomeKind.REFUSED]
    assert crm_problem(OutcomeKind.REFUSED, "Передумал", refused) == "Передумал"
    unset = CrmFields("new", "Не отвечает")
    assert crm_problem(OutcomeKind.NO_ANSWER, own_text, unset) == own_text


@pytest.mark.parametrize(
    ("retailcrm", "named"),
    [
        ({"comment_to": "notes"}, "crm.retailcrm: comment_to must be one of managerComment, "),
        ({"comment_to": "customField"}, "needs custom_fields.comment"),
    ],
)
def test_a_bad_comment_target_is_refused_naming_the_key(
    retailcrm: dict[str, str], named: str
) -> None:
    section = RETAIL | {"retailcrm": RETAIL["retailcrm"] | retailcrm}  # type: ignore[operator]
    with pytest.raises(CrmConfigError, match=re.escape(named)):
        parse_crm_config(section, ENV)


def test_the_comment_can_go_to_the_dialers_own_text_field(retail_crm: RetailCrmDouble) -> None:
    retail_crm.custom_fields.append(custom_field("dialer_comment", "text"))
    section = RETAIL | {"retailcrm": RETAIL["retailcrm"] | {  # type: ignore[operator]
        "comment_to": "customField", "custom_fields": {"comment": "dialer_comment"},
    }}  # fmt: skip
    settings = parse_crm_config(section, ENV).retailcrm
    assert settings is not None
    backend = RetailBackend(
        retail_crm, API_KEY, comment_to=settings.comment_to,
        custom_fields=dataclasses.replace(settings.custom_fields, attempts="attempts"),
    )  # fmt: skip
    backend.seed([order("E1", 0)])
    retail_crm.orders["E1"]["managerComment"] = "менеджер"
    backend.adapter.write_outcome(delivery("E1", "E1:1"))
    edit = edit_form(retail_crm)[2]
    assert edit["customFields"]["dialer_comment"] == "10.03 - не отвечает-4"
    assert "managerComment" not in edit and "statusComment" not in edit


def test_the_docs_retailcrm_examples_load_and_use_stock_codes() -> None:
    """docs/crm.md's RetailCRM examples: the [crm] block loads; the mapping example keeps
    a no-answer out of the closing groups."""
    docs = (Path(__file__).parents[2] / "docs" / "crm.md").read_text(encoding="utf-8")
    section = docs.split("## RetailCRM API v5\n", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("```", 1)[0] for b in section.split("```toml\n")[1:]]
    config = tomllib.loads(blocks[0])["crm"]
    assert parse_crm_config(config, {"RETAILCRM_API_KEY": "k"}).retailcrm is not None
    example = tomllib.loads(blocks[1])
    group_of = {code: g for g, (_n, _o, codes) in STOCK_GROUPS.items() for code in codes}
    assert example["campaign"]["intake_statuses"] == ["new"]
    for kind, entry in example["crm"]["mapping"].items():
        assert entry["status"] in group_of
        if not OutcomeKind(kind).is_final:
            assert group_of[entry["status"]] not in CLOSING_GROUPS
