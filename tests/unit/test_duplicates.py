"""Duplicate orders of business-rules §3: same phone + name + product, the oldest is dialled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from campaigns.duplicates import duplicate_comment, duplicate_key, find_duplicates
from campaigns.orders import Order

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
