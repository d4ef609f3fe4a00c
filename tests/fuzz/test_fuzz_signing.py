"""Webhook signatures and timestamps under fuzz: only the exact signature within tolerance
passes; everything else is a SignatureError (401) naming the header, never a crash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_adapter.errors import ReplayedEventError, SignatureError
from crm_adapter.signing import SeenEvents, signature, verify

SECRET = b"fuzz-secret-0123456789"
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
STAMP = int(NOW.timestamp())
HEADERS = ("X-Dialer-Timestamp", "X-Dialer-Signature", "X-Dialer-Event-Id")
FUZZ = settings(max_examples=300, deadline=None)

odd_timestamps = st.one_of(
    st.text(max_size=30),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["²", "١٧٦٧", "1e9", " 1767225600", "0x10", "-1", "9" * 5000, "+17"]),
)


def headers_for(timestamp: str, sig: str, event: str = "evt-1") -> dict[str, str]:
    return dict(zip(HEADERS, (timestamp, sig, event), strict=True))


def check(headers: dict[str, str], body: bytes) -> bool:
    """True when accepted; a refusal must be a SignatureError that names a header."""
    try:
        verify(SECRET, headers, body, NOW)
    except SignatureError as exc:
        assert exc.status == 401
        assert any(name in str(exc) for name in HEADERS), str(exc)
        return False
    return True


@FUZZ
@given(body=st.binary(max_size=200), skew=st.integers(-300, 300))
def test_the_exact_signature_within_tolerance_passes(body: bytes, skew: int) -> None:
    stamp = STAMP + skew
    assert check(headers_for(str(stamp), signature(SECRET, stamp, body)), body)


@FUZZ
@given(body=st.binary(max_size=200), skew=st.integers(301, 10**12).flatmap(
    lambda s: st.sampled_from([s, -s])
))  # fmt: skip
def test_a_valid_signature_outside_tolerance_is_refused(body: bytes, skew: int) -> None:
    stamp = STAMP + skew
    stamp = max(stamp, 0)
    assert not check(headers_for(str(stamp), signature(SECRET, stamp, body)), body)


@FUZZ
@given(timestamp=odd_timestamps, sig=st.text(max_size=80), event=st.text(max_size=250))
def test_random_headers_never_crash_and_never_pass(timestamp: str, sig: str, event: str) -> None:
    headers = headers_for(timestamp, sig, event)
    assert not check(headers, b'{"orders": []}')


def _mangled(good: str, how: str) -> str:
    hexpart = good.removeprefix("sha256=")
    return {
        "truncated": good[:-1],
        "no-prefix": hexpart,
        "empty": "",
        "sha1-prefix": "sha1=" + hexpart,
        "extra": good + "0",
        "spaces": f"sha256= {hexpart}",
    }[how]


@pytest.mark.parametrize(
    "how", ["truncated", "no-prefix", "empty", "sha1-prefix", "extra", "spaces"]
)
def test_a_mangled_signature_is_refused(how: str) -> None:
    body = b'{"orders": []}'
    good = signature(SECRET, STAMP, body)
    assert good.removeprefix("sha256=") != good.removeprefix("sha256=").upper()
    assert not check(headers_for(str(STAMP), _mangled(good, how)), body)


@pytest.mark.parametrize("prefix", ["sha256=", "SHA256=", "Sha256="])
@pytest.mark.parametrize("case", [str.upper, str.lower])
def test_the_signature_is_taken_in_upper_or_lower_case_hex(prefix: str, case: object) -> None:
    """1C's ПолучитьHexСтрокуИзДвоичныхДанных writes upper-case hex (issue 17 §3)."""
    body = '{"orders": [{"id": "НФ-00123"}]}'.encode()
    hexpart = signature(SECRET, STAMP, body).removeprefix("sha256=")
    assert callable(case)
    assert check(headers_for(str(STAMP), prefix + case(hexpart)), body)
    wrong = case(hexpart[:-1] + ("0" if hexpart[-1] != "0" else "1"))
    assert not check(headers_for(str(STAMP), prefix + wrong), body)


@FUZZ
@given(body=st.binary(min_size=1, max_size=200), data=st.data())
def test_any_tampering_with_the_body_is_refused(body: bytes, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(body) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = body[:index] + bytes([body[index] ^ flip]) + body[index + 1 :]
    headers = headers_for(str(STAMP), signature(SECRET, STAMP, body))
    assert not check(headers, tampered)
    assert not check(headers, body + b" ")


@pytest.mark.parametrize(
    ("timestamp", "named"),
    [
        ("²", "must be Unix seconds"),
        ("9" * 5000, "must be Unix seconds"),
        ("9" * 400, "must be Unix seconds"),
        ("-5", "must be Unix seconds"),
        ("١٧٦٧٢٢٥٦٠٠", "must be Unix seconds"),
    ],
)
def test_regression_unicode_or_overflowing_timestamps_are_refused_not_crashed(
    timestamp: str, named: str
) -> None:
    """Found by the fuzz test: ``str.isdigit`` let ``²`` and 5000-digit runs reach ``int()``
    (ValueError) and 400 digits reach float arithmetic (OverflowError): a 500 at intake."""
    with pytest.raises(SignatureError, match=named):
        verify(SECRET, headers_for(timestamp, "sha256=00"), b"", NOW)


@FUZZ
@given(events=st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=20))
def test_a_replayed_event_id_is_refused_within_the_window(events: list[str]) -> None:
    seen = SeenEvents()
    accepted: set[str] = set()
    for offset, event in enumerate(events):
        at = NOW + timedelta(seconds=offset)
        if event in accepted:
            with pytest.raises(ReplayedEventError, match="already received"):
                seen.check_and_add(event, at)
        else:
            seen.check_and_add(event, at)
            accepted.add(event)
