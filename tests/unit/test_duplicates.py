"""Duplicate orders of business-rules §3: same phone + name + product, the oldest is dialled."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from campaigns.duplicates import (
    counts_as_handled,
    duplicate_comment,
    duplicate_key,
    find_duplicates,
    handled_since,
)
from campaigns.orders import Order
from campaigns.outcomes import OutcomeKind
from campaigns.settings import CampaignSettings
from dialer.config.campaign import ConfigError, campaign_from_mapping, load_campaign

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "campaign.example.toml"

T0 = datetime(2024, 9, 26, 9, 0, tzinfo=UTC)


def order(
    id: str,
    minutes: int = 0,
    *,
    phone: str = "+79161234568",
    name: str = "Иванова Алёна",
    product: str = "Крем SPF50",
) -> Order:
    return Order(id, phone, name, product, T0 + timedelta(minutes=minutes))


def test_rule_3_duplicates_map_to_the_oldest_order() -> None:
    orders = [order("103", 20), order("101", 0), order("102", 10)]
    assert find_duplicates(orders) == {"102": "101", "103": "101"}


def test_rule_3_same_phone_name_product_in_other_spellings_are_duplicates() -> None:
    orders = [
        order("1", 0),
        order("2", 5, phone="8 (916) 123-45-68", name="  ИВАНОВА   алена ", product="крем spf50"),
    ]
    assert find_duplicates(orders) == {"2": "1"}


def test_rule_3_a_different_phone_name_or_product_is_not_a_duplicate() -> None:
    orders = [
        order("1", 0),
        order("2", 1, phone="+79161234569"),
        order("3", 2, name="Иванова Анна"),
        order("4", 3, product="Крем SPF30"),
    ]
    assert find_duplicates(orders) == {}


def test_rule_3_equal_creation_times_keep_the_lowest_order_number() -> None:
    orders = [order("10", 0), order("9", 0), order("A-1", 0)]
    assert find_duplicates(orders) == {"10": "9", "A-1": "9"}


def test_rule_3_orders_with_invalid_phones_are_left_to_the_number_check() -> None:
    orders = [order("1", 0, phone="700000000000"), order("2", 1, phone="700000000000")]
    assert find_duplicates(orders) == {}
    assert duplicate_key(orders[0]) is None


def test_rule_3_separate_groups_are_resolved_independently() -> None:
    orders = [
        order("1", 0),
        order("2", 1),
        order("3", 2, phone="+77015551234"),
        order("4", 3, phone="8 701 555 12 34"),
    ]
    assert find_duplicates(orders) == {"2": "1", "4": "3"}


def test_rule_3_duplicate_comment_names_the_kept_order() -> None:
    assert duplicate_comment("101") == "дубль к заказу №101"


def test_rule_3_handled_orders_are_looked_back_on_over_the_duplicate_window() -> None:
    new = order("2", 60)
    assert handled_since(new, 7) == new.created_at - timedelta(days=7)
    assert handled_since(new, 0) is None  # open orders only


@pytest.mark.parametrize(
    ("outcome", "handled"),
    [
        (OutcomeKind.CONFIRMED, True),
        (OutcomeKind.REFUSED, True),
        (OutcomeKind.NO_ANSWER_FINAL, True),
        (OutcomeKind.INVALID, True),
        (OutcomeKind.SKIPPED, False),  # never dialled: a new order for it is called
        (OutcomeKind.DUPLICATE, False),  # its original was handled, not it
        (None, False),
    ],
)
def test_rule_3_which_finished_orders_count_as_handled(
    outcome: OutcomeKind | None, handled: bool
) -> None:
    assert counts_as_handled(outcome) is handled


def test_rule_3_duplicate_window_days_is_a_campaign_setting_7_by_default() -> None:
    assert CampaignSettings().duplicate_window_days == 7
    assert load_campaign(EXAMPLE).duplicate_window_days == 7
    assert campaign_from_mapping({"duplicate_window_days": 0}).duplicate_window_days == 0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "duplicate_window_days must be 0 to 366 (0 = open orders only), got -1"),
        (367, "duplicate_window_days must be 0 to 366"),
        ("7", "campaign.duplicate_window_days: expected int"),
        (True, "campaign.duplicate_window_days: expected int"),
    ],
)
def test_a_bad_duplicate_window_is_refused_naming_the_setting(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        campaign_from_mapping({"duplicate_window_days": value})
