"""Every rule of business-rules.md §2–§6 names the test that holds it (issue 2's "Done when").

The index below is also documentation: find a rule, read its test.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

RULES: dict[str, tuple[str, ...]] = {
    "§2 status «Ожидает подтверждения» + state «Новый»": (
        "test_rule_2_only_status_and_state_of_the_campaign_enter_the_queue",
        "test_rule_2_an_order_waiting_for_confirmation_is_dialled_in_its_zone",
    ),
    "§2 excluded sources (Kaspi)": ("test_rule_2_kaspi_orders_are_excluded_by_source",),
    "§2 never touch, configurable": (
        "test_rule_2_never_touch_statuses_are_never_dialled",
        "test_rule_2_the_never_touch_list_is_configuration",
        "test_rule_2_status_novy_of_a_previous_month_is_never_touched",
        "test_rule_2_fully_prepaid_orders_are_never_touched",
    ),
    "§2 never touch re-checked right before every dial": (
        "test_rule_2_never_touch_status_found_before_the_dial_leaves_silently",
    ),
    "§3 wrong number of digits / obviously fake": (
        "test_rule_3_twelve_digit_fake_is_invalid_for_wrong_length",
        "test_rule_3_invalid_numbers_are_not_dialled_and_say_why",
        "test_rule_3_invalid_number_is_not_dialled",
        "test_rule_3_every_written_form_of_a_russian_mobile_normalises_to_e164",
    ),
    "§3 a number that merely looks unusual is dialled (issue 13)": (
        "test_rule_3_a_subscriber_part_that_merely_looks_made_up_is_dialled",
        "test_rule_3_an_ascending_run_number_is_dialled_not_refused_as_fake",
        "test_rule_3_a_made_up_looking_number_is_valid_and_marked_suspicious",
    ),
    "§3 spam names": (
        "test_rule_3_name_with_an_obscene_word_is_spam",
        "test_rule_3_spam_survives_look_alikes_and_repeated_letters",
        "test_rule_3_innocent_names_that_start_like_a_short_stem_are_not_spam",
        "test_rule_3_spam_name_is_not_dialled",
    ),
    "§3 duplicates: the oldest is dialled": (
        "test_rule_3_duplicates_map_to_the_oldest_order",
        "test_rule_3_duplicate_of_an_open_order_is_not_dialled",
        "test_rule_3_duplicate_comment_names_the_kept_order",
    ),
    "§3 duplicates: open or handled within the last days, never re-dialled (issue 13)": (
        "test_rule_3_a_new_order_for_what_was_already_confirmed_is_a_duplicate",
        "test_rule_3_every_handled_outcome_counts_for_duplicates",
        "test_rule_3_an_order_handled_before_the_duplicate_window_is_called_again",
        "test_rule_3_duplicate_window_days_0_looks_at_open_orders_only",
        "test_rule_3_an_order_skipped_without_a_call_does_not_make_a_duplicate",
        "test_rule_3_duplicate_window_days_is_a_campaign_setting_7_by_default",
    ),
    "§3 foreign number: dial or flag": (
        "test_rule_3_foreign_number_is_flagged_or_dialled_by_campaign_setting",
    ),
    "§3 do-not-call list": ("test_rule_3_do_not_call_numbers_are_never_dialled",),
    "§4 10:00–19:00 customer local": (
        "test_rule_4_window_edges_in_local_time",
        "test_rule_4_every_dial_is_inside_the_customers_window",
        "test_rule_4_weekdays_and_holidays_are_local_dates",
    ),
    "§4 zone: explicit, address, number, landline, country, default": (
        "test_rule_4_an_explicit_zone_on_the_order_wins",
        "test_rule_4_the_address_comes_before_the_number",
        "test_rule_4_without_an_address_a_russian_mobile_uses_its_numbering_range",
        "test_rule_4_a_landline_uses_its_area_code_with_stale_zones_corrected",
        "test_rule_4_kazakhstan_is_one_zone_by_country",
        "test_rule_4_with_nothing_known_the_campaign_default_is_used",
        "test_rule_4_a_mobile_without_numbering_data_never_gets_phonenumbers_16_zones",
    ),
    "§4 a foreign number: its country's zones, never the campaign default (issue 13)": (
        "test_rule_4_a_foreign_mobile_gets_its_countrys_zones_never_the_campaign_default",
        "test_rule_4_a_dialled_foreign_number_is_called_in_its_countrys_zone",
        "test_rule_4_a_foreign_mobile_reports_its_countrys_zone_not_the_default",
    ),
    "§4 several zones: open in all of them": (
        "test_rule_4_window_open_only_if_open_in_every_candidate_zone",
        "test_rule_4_yakutia_alone_is_open_only_when_all_three_offsets_are",
    ),
    "§4 Kazakhstan UTC+5 since 2024-03-01": (
        "test_rule_4_kazakhstan_window_differs_before_and_after_2024_03_01",
    ),
    "§4 window re-checked when the Originate is sent": (
        "test_rule_4_window_is_checked_again_when_the_originate_would_be_sent",
    ),
    "§4 new orders at once, oldest first": (
        "test_rule_4_new_orders_are_called_at_once_oldest_first",
        "test_rule_4_new_order_inside_window_is_due_at_once",
    ),
    "§5 1st–3rd unanswered: 2–3 minutes": (
        "test_rule_5_first_three_unanswered_calls_retry_in_two_to_three_minutes",
        "test_rule_5_quick_retries_come_two_to_three_minutes_after_the_previous_call",
    ),
    "§5 4th and later: one hour": ("test_rule_5_fourth_unanswered_call_retries_in_one_hour",),
    "§5 end of window: next opening": (
        "test_rule_5_retry_that_falls_after_window_close_moves_to_next_opening",
        "test_rule_5_a_retry_with_less_than_a_ring_timeout_left_moves_to_the_next_opening",
    ),
    "§5 jitter never costs a same-day retry (issue 13)": (
        "test_rule_5_a_jittered_retry_past_closing_uses_what_is_left_of_the_window",
        "test_rule_5_a_jittered_retry_inside_the_window_keeps_its_jitter",
    ),
    "§5 three local days, then final Недозвон": (
        "test_rule_5_calling_stops_after_three_local_days_with_final_no_answer",
        "test_rule_5_unanswered_order_stops_after_three_local_days",
        "test_rule_2_order_older_than_the_calling_days_is_not_called",
    ),
    "§5 final needs 3 calls within 5 hours on a day": (
        "test_rule_5_final_no_answer_needs_a_day_with_three_calls_within_five_hours",
    ),
    "§5 callback at the requested time, clamped": (
        "test_rule_5_callback_happens_at_requested_time_clamped_into_window",
        "test_rule_5_callback_is_called_at_the_requested_time",
    ),
    "§5 agent did not press 1: back to the queue, not an attempt": (
        "test_rule_5_agent_missed_is_not_a_customer_attempt_and_requeues_at_once",
        "test_rule_5_agent_miss_requeues_the_order_for_the_next_agent_at_once",
    ),
    "§5 congestion: retry soon, not an attempt, pause the trunk": (
        "test_rule_5_trunk_congestion_is_not_a_customer_attempt_and_retries_soon",
        "test_rule_5_repeated_congestion_pauses_the_trunk_and_alerts",
    ),
    "§5 cause 1 / 28: Невалид": ("test_rule_5_unallocated_number_ends_invalid_with_problem",),
    "§6 comment DD.MM in local date; callback from the 4th; refusal reason": (
        "test_rule_6_comment_uses_the_customers_local_date",
        "test_rule_6_callback_time_is_written_from_the_fourth_attempt_only",
        "test_rule_6_refusal_requires_a_reason",
        "test_rule_6_confirmed_writes_no_problem_and_no_callback",
    ),
    "§6 every outcome reaches the CRM, whatever script the order id is in (issue 13)": (
        "test_rule_6_a_1c_cyrillic_order_number_goes_from_intake_to_an_acknowledged_outcome",
        "test_rule_6_a_row_that_cannot_be_sent_holds_back_only_its_own_order",
        "test_rule_6_a_permanent_error_makes_the_row_dead_at_once_and_other_orders_flow",
    ),
    "§7 the agent signs in: five wrong passwords lock for a minute (issue 15)": (
        "test_rule_7_five_wrong_passwords_in_a_row_lock_the_agent_for_a_minute",
        "test_rule_7_five_wrong_then_locked_until_the_minute_ends",
        "test_rule_7_five_wrong_passwords_lock_the_agent_for_a_minute_even_against_the_right_one",
    ),
    "§7 agents who work in the CRM's card: the dialer follows status and callback (issue 15)": (
        "test_rule_7_a_status_the_crm_calls_confirmed_confirms_the_order",
        "test_rule_7_a_status_the_crm_calls_refused_refuses_with_the_status_as_reason",
        "test_rule_7_a_callback_time_after_the_call_is_a_callback_then",
        "test_rule_7_a_crm_result_ends_the_order_and_nothing_is_written_back",
    ),
    "§7 an agent sees only its own current and owned orders (issue 15)": (
        "test_rule_7_an_agent_reaches_the_order_whose_live_call_was_offered_to_them",
        "test_rule_7_an_agent_reaches_the_answered_order_awaiting_their_verdict",
        "test_rule_7_the_owner_of_a_callback_reaches_it_until_it_is_done",
        "test_rule_7_an_agent_reads_its_own_current_order_as_the_api_shows_it",
    ),
}


def _test_names() -> set[str]:
    names: set[str] = set()
    for path in Path(__file__).parent.rglob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names.update(n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))
    return names


NAMES = _test_names()


@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_rule_has_its_named_tests(rule: str) -> None:
    missing = [name for name in RULES[rule] if name not in NAMES]
    assert missing == [], f"{rule}: no test named {missing}"
