"""Results that come from the CRM (issue 15 §3, business-rules §7): what a CRM reading
means after an answered call, when the CRM is read again, when it is «нет результата»."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from campaigns import crm_results
from campaigns.crm_results import crm_verdict, is_overdue, next_read_at, read_times
from campaigns.dispositions import DispositionKind
from campaigns.settings import CampaignSettings
from dialer.config.campaign import ConfigError, campaign_from_mapping

ENDED = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
CRM = CampaignSettings(disposition_source="crm")


def verdict(status: str, callback: datetime | None = None, settings: CampaignSettings = CRM):
    return crm_verdict(status, callback, call_ended_at=ENDED, settings=settings)


def test_rule_7_a_status_the_crm_calls_confirmed_confirms_the_order() -> None:
    for status in ("Подтвержден", "В буфер"):
        got = verdict(status)
        assert got is not None and got.kind is DispositionKind.CONFIRMED
        assert got.comment == f"результат из CRM: статус «{status}»"


def test_rule_7_a_status_the_crm_calls_refused_refuses_with_the_status_as_reason() -> None:
    for status in ("Отказ", "Отменён", "Отменен"):
        got = verdict(status)
        assert got is not None
        assert (got.kind, got.reason) == (DispositionKind.REFUSED, status)


def test_rule_7_a_callback_time_after_the_call_is_a_callback_then() -> None:
    wanted = ENDED + timedelta(hours=3)
    got = verdict("Ожидает подтверждения", wanted)
    assert got is not None
    assert (got.kind, got.callback_at) == (DispositionKind.CALLBACK, wanted)


def test_a_callback_time_not_after_the_call_is_the_crms_old_value_not_a_result() -> None:
    assert verdict("Ожидает подтверждения", ENDED) is None
    assert verdict("В работе", ENDED - timedelta(hours=1)) is None


def test_a_status_decides_before_a_callback_time() -> None:
    got = verdict("Подтвержден", ENDED + timedelta(hours=1))
    assert got is not None and got.kind is DispositionKind.CONFIRMED


def test_an_intake_status_or_one_in_neither_list_is_no_result_yet() -> None:
    assert verdict("Ожидает подтверждения") is None
    assert verdict("Передано в комплектацию") is None


def test_the_mapping_is_configuration() -> None:
    shop = CampaignSettings(
        disposition_source="crm",
        crm_confirmed_statuses=("approved",),
        crm_refused_statuses=("cancel-other",),
    )
    assert verdict("Подтвержден", settings=shop) is None
    confirmed, refused = verdict("approved", settings=shop), verdict("cancel-other", settings=shop)
    assert confirmed is not None and confirmed.kind is DispositionKind.CONFIRMED
    assert refused is not None and refused.kind is DispositionKind.REFUSED


def test_reads_back_off_from_the_first_read_and_end_at_the_timeout() -> None:
    offsets = [(at - ENDED).total_seconds() for at in read_times(ENDED, CRM)]
    # 15 s, then 30, 60, 120 s apart, 120 s at most, and last at the 600 s timeout
    assert offsets == [15, 45, 105, 225, 345, 465, 585, 600]


def test_the_next_read_follows_the_last_one_and_none_after_the_timeout() -> None:
    assert next_read_at(ENDED, None, CRM) == ENDED + timedelta(seconds=15)
    assert next_read_at(ENDED, ENDED + timedelta(seconds=50), CRM) == ENDED + timedelta(seconds=105)
    assert next_read_at(ENDED, ENDED + timedelta(seconds=590), CRM) == ENDED + timedelta(
        seconds=600
    )
    assert next_read_at(ENDED, ENDED + timedelta(seconds=600), CRM) is None


def test_compressed_seconds_still_read_at_least_twice() -> None:
    quick = CampaignSettings(disposition_source="crm", crm_result_timeout_s=6, crm_result_read_s=1)
    offsets = [(at - ENDED).total_seconds() for at in read_times(ENDED, quick)]
    assert offsets == [1, 3, 6]


def test_no_result_is_overdue_after_the_crm_timeout_with_crm_and_the_later_wait_with_both() -> None:
    assert crm_results.no_result_after_s(CampaignSettings()) == 180  # wrap_up_max_s
    assert crm_results.no_result_after_s(CRM) == 600
    both = CampaignSettings(disposition_source="both", crm_result_timeout_s=120)
    assert crm_results.no_result_after_s(both) == 180
    assert not is_overdue(ENDED, ENDED + timedelta(seconds=600), CRM)
    assert is_overdue(ENDED, ENDED + timedelta(seconds=601), CRM)
    assert "600 с" in crm_results.no_result_reason(CRM)


def test_with_crm_the_agent_is_not_held_for_a_result_from_the_dialers_page() -> None:
    assert crm_results.agent_result_wait_s(CRM) is None
    assert crm_results.agent_result_wait_s(CampaignSettings()) == 180
    assert crm_results.agent_result_wait_s(CampaignSettings(disposition_source="both")) == 180
    assert not crm_results.follows_crm(CampaignSettings())
    assert crm_results.follows_crm(CampaignSettings(disposition_source="both"))


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ({"disposition_source": "1c"}, "disposition_source must be one of agent, crm, both"),
        ({"crm_result_timeout_s": "600"}, "campaign.crm_result_timeout_s: expected int"),
        ({"crm_result_read_s": 0}, "crm_result_read_s must be 1 to crm_result_timeout_s"),
        (
            {"crm_confirmed_statuses": ["Ожидает подтверждения"]},
            "must not share a status with each other or with intake_statuses",
        ),
        ({"crm_refused_statuses": ["В буфер"]}, "must not share a status"),
    ],
)
def test_a_wrong_setting_is_refused_naming_it(table: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        campaign_from_mapping({"name": "c", **table})


def test_the_defaults_are_agent_600_s_and_the_manuals_statuses() -> None:
    settings = campaign_from_mapping({"name": "c"})
    assert settings.disposition_source == "agent"
    assert settings.crm_result_timeout_s == 600
    assert settings.crm_confirmed_statuses == ("Подтвержден", "В буфер")
    assert settings.crm_refused_statuses == ("Отказ", "Отменён", "Отменен")
