"""Nothing from a CRM reaches Asterisk unless it is digits: whatever phone, name and order id
a push carries, the order is refused or every Originate the telephony receives carries ASCII
digits only, and the AMI action builder refuses anything else."""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fuzz_intake import GOOD, Intake

from campaigns.calls import CallReport, CallResult, OriginateRequest
from dialer.ami.telephony import AmiSettings, AmiTelephony, InvalidRequest

DIGITS = re.compile(r"\+?[0-9]+")
VARIABLE = re.compile(r"(__)?DIALER_[A-Z_]+=[A-Za-z0-9/@._-]*")
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
_serial = itertools.count()

TRANSLATE = {
    "fullwidth": str.maketrans("0123456789", "０１２３４５６７８９"),
    "arabic-indic": str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"),
    "superscript": str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"),
}
BASE = ["+79165830421", "89165830421", "+7 (916) 583-04-21", "79165830421", "+77012345678"]
INJECT = ["&PJSIP/1002", ",t", ";Set(x=1)", "\x00", "\r\nAction: Command", "@evil", "'", "%s"]


@st.composite
def phones(draw: st.DrawFn) -> str:
    base = draw(st.sampled_from(BASE))
    how = draw(st.sampled_from(["plain", "translated", "injected", "random"]))
    if how == "translated":
        return base.translate(TRANSLATE[draw(st.sampled_from(sorted(TRANSLATE)))])
    if how == "injected":
        return base + draw(st.sampled_from(INJECT))
    if how == "random":
        return draw(st.text(max_size=25))
    return base


order_ids = st.one_of(
    st.integers(1, 10**9).map(str),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from(["١٢٣", "²³", "A-1,t", "1&2", "１２３"]),
)


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Intake]:
    yield Intake(tmp_path_factory.mktemp("fuzz-digits"))


def ami() -> AmiTelephony:
    settings_ = AmiSettings(secret="s3cret", customer_channel="PJSIP/{number}@trunk")  # noqa: S106
    return AmiTelephony(settings_, lambda _: None, clock=lambda: NOW)


def assert_digits_only(request: OriginateRequest) -> None:
    assert DIGITS.fullmatch(request.customer_number), request
    assert request.announce_digits == "" or DIGITS.fullmatch(request.announce_digits), request
    action = ami()._originate_action(replace(request, attempt_id=str(uuid.uuid4())))
    assert action["Channel"] == f"PJSIP/{request.agent}"
    assert re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", request.agent)  # from config, not the CRM
    for variable in action["Variable"]:
        assert VARIABLE.fullmatch(variable), variable
    dial = next(v for v in action["Variable"] if v.startswith("DIALER_CUSTOMER_DIAL="))
    assert re.fullmatch(r"DIALER_CUSTOMER_DIAL=PJSIP/[0-9]+@trunk", dial), dial


@FUZZ
@given(batch=st.lists(st.tuples(order_ids, phones(), st.text(max_size=20)), min_size=1, max_size=3))
def test_every_originate_from_a_crm_push_is_digits_only(
    intake: Intake, batch: list[tuple[str, str, str]]
) -> None:
    serial = next(_serial)
    items: list[dict[str, Any]] = [
        {**GOOD, "id": f"{order_id}~{serial}.{i}", "phone": phone, "name": name or "Имя"}
        for i, (order_id, phone, name) in enumerate(batch)
    ]
    body = json.dumps({"orders": items}, ensure_ascii=False).encode()
    response = intake.post(body, intake.signed(body))
    assert response.status < 500, response.body
    dialer = intake.dialer
    for _ in range(2 * len(items) + 1):  # until nothing is due: the next example starts clean
        before = len(dialer.telephony.originated)
        dialer.sync.sync(dialer.now)
        if not dialer.dispatcher.dispatch(dialer.now):
            break
        for request in dialer.telephony.originated[before:]:
            assert_digits_only(request)
            dialer.dispatcher.on_report(CallReport(request.attempt_id, CallResult.BUSY, dialer.now))
    else:
        pytest.fail("orders still due after every one was dialled once")


def test_regression_an_order_id_of_unicode_digits_is_dialled_without_them(
    intake: Intake,
) -> None:
    """Found by the fuzz test: the dispatcher kept order-id characters by ``str.isdigit``,
    so an id of Arabic-Indic digits made OriginateRequest raise inside dispatch, after the
    attempt was recorded and the agent taken."""
    order = {**GOOD, "id": "١٢٣-7", "phone": "+79165830499", "name": "Регрессия"}
    body = json.dumps({"orders": [order]}, ensure_ascii=False).encode()
    assert intake.post(body, intake.signed(body)).status == 200
    dialer = intake.dialer
    before = len(dialer.telephony.originated)
    dialer.sync.sync(dialer.now)
    assert dialer.dispatcher.dispatch(dialer.now) == 1
    [request] = dialer.telephony.originated[before:]
    assert request.announce_digits == "7"
    dialer.dispatcher.on_report(CallReport(request.attempt_id, CallResult.BUSY, dialer.now))


def _request() -> OriginateRequest:
    return OriginateRequest("0a1b2c3d-0000-4000-8000-000000000009", "A-1", "1001",
                            "79165830421", "1042", 20, 5)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    field=st.sampled_from(["customer_number", "announce_digits", "agent", "attempt_id"]),
    value=st.one_of(
        st.text(max_size=30),
        st.sampled_from([p + i for p in BASE for i in INJECT]),
        st.sampled_from([b.translate(t) for b in BASE for t in TRANSLATE.values()]),
    ),
)
async def test_the_action_builder_refuses_anything_but_digits(field: str, value: str) -> None:
    request = _request()
    object.__setattr__(request, field, value)  # past the request's own check
    telephony = ami()
    try:
        action = telephony._originate_action(request)
    except InvalidRequest as exc:
        assert str(exc)
        return
    assert DIGITS.fullmatch(request.customer_number)
    assert request.announce_digits == "" or DIGITS.fullmatch(request.announce_digits)
    assert re.fullmatch(r"[0-9a-f][0-9a-f-]{0,63}", action["ChannelId"])
    assert re.fullmatch(r"PJSIP/[A-Za-z0-9_.-]{1,64}", action["Channel"])


def test_regression_two_orders_for_one_number_are_called_one_after_the_other(
    intake: Intake,
) -> None:
    """Found by the fuzz test: two queued orders with the same phone (different names, so
    not duplicates) were launched in one round; the store refused the second live attempt
    for the number and StoreConflict escaped dispatch, failing the whole round."""
    items = [
        {**GOOD, "id": f"same-number-{n}", "phone": "+79165830477", "name": name}
        for n, name in enumerate(["Анна", "Борис"])
    ]
    body = json.dumps({"orders": items}, ensure_ascii=False).encode()
    assert intake.post(body, intake.signed(body)).json()["admitted"] == 2
    dialer = intake.dialer
    before = len(dialer.telephony.originated)
    dialer.sync.sync(dialer.now)
    assert dialer.dispatcher.dispatch(dialer.now) == 1
    [first] = dialer.telephony.originated[before:]
    dialer.dispatcher.on_report(CallReport(first.attempt_id, CallResult.BUSY, dialer.now))
    dialer.sync.sync(dialer.now)
    assert dialer.dispatcher.dispatch(dialer.now) == 1
    [second] = dialer.telephony.originated[before + 1 :]
    assert {first.order_id, second.order_id} == {"same-number-0", "same-number-1"}
    dialer.dispatcher.on_report(CallReport(second.attempt_id, CallResult.BUSY, dialer.now))
