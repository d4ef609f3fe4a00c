"""Time-zone resolution of business-rules §4: order zone, address, numbering, landline, country."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import pytz

from campaigns.orders import Order
from campaigns.phones import check_phone
from campaigns.regions import ALL_REGIONS, CONTESTED_REGIONS, KAZAKH_REGIONS, RUSSIAN_SUBJECTS
from campaigns.timezones import (
    CustomerPlace,
    InMemoryNumbering,
    TzResolution,
    find_regions,
    order_zones,
    place_key,
    resolve_order_timezone,
    resolve_timezone,
    zones_for_address,
)

AT = datetime(2024, 6, 3, 6, 0, tzinfo=UTC)
MOBILE = check_phone("+79161234568")
YAKUTIA = ("Asia/Yakutsk", "Asia/Khandyga", "Asia/Ust-Nera", "Asia/Srednekolymsk")
NUMBERING = InMemoryNumbering(
    [
        (916, 0, 9_999_999, "г. Москва и Московская область"),
        (924, 0, 49_999, "Республика Саха /Якутия/"),
        (922, 1_000_000, 1_999_999, "Ханты - Мансийский - Югра АО"),
        ("921", "0000000", "0999999", "г. Санкт-Петербург и Ленинградская область"),
        (900, 0, 999, "Российская Федерация"),
    ]
)


def resolve(
    number: str = "+79161234568",
    *,
    tz: str | None = None,
    region: str | None = None,
    city: str | None = None,
    country: str | None = None,
    numbering: InMemoryNumbering | None = None,
) -> TzResolution:
    place = CustomerPlace(tz, region, city, country)
    return resolve_timezone(
        check_phone(number), place, at=AT, default_tz="Europe/Moscow", numbering=numbering
    )


# --- step order -------------------------------------------------------------------------


def test_rule_4_an_explicit_zone_on_the_order_wins() -> None:
    found = resolve(tz="Asia/Kamchatka", region="Самарская область", numbering=NUMBERING)
    assert found == TzResolution(("Asia/Kamchatka",), "order", None, "RU")


def test_rule_4_an_unknown_zone_on_the_order_is_ignored_with_the_reason_recorded() -> None:
    found = resolve(tz="Mars/Olympus_Mons", region="Самарская обл")
    assert (found.zones, found.source, found.region) == (
        ("Europe/Samara",),
        "address",
        "Самарская область",
    )
    assert found.notes == ("unknown time zone 'Mars/Olympus_Mons' on the order ignored",)


def test_rule_4_the_address_comes_before_the_number() -> None:
    found = resolve(region="Калининградская обл", numbering=NUMBERING)
    assert (found.zones, found.source) == (("Europe/Kaliningrad",), "address")


def test_rule_4_without_an_address_a_russian_mobile_uses_its_numbering_range() -> None:
    found = resolve("+79240012345", numbering=NUMBERING)
    assert found == TzResolution(
        order_zones(YAKUTIA, AT), "numbering", "Республика Саха (Якутия)", "RU"
    )


@pytest.mark.parametrize(
    ("number", "zones", "region"),
    [
        ("+79161234568", ("Europe/Moscow",), "Москва и Московская область"),
        ("+79221234568", ("Asia/Yekaterinburg",), "Ханты-Мансийский автономный округ — Югра"),
        ("+79210123458", ("Europe/Moscow",), "Санкт-Петербург и Ленинградская область"),
    ],
)
def test_rule_4_numbering_plan_region_strings_are_understood(
    number: str, zones: tuple[str, ...], region: str
) -> None:
    found = resolve(number, numbering=NUMBERING)
    assert (found.zones, found.source, found.region) == (zones, "numbering", region)


def test_rule_4_a_nationwide_numbering_range_falls_through_to_the_default() -> None:
    found = resolve("+79000000123", numbering=NUMBERING)
    assert (found.zones, found.source) == (("Europe/Moscow",), "default")
    assert found.notes == ("numbering-plan region 'Российская Федерация' not in the region table",)


def test_rule_4_a_mobile_without_numbering_data_never_gets_phonenumbers_16_zones() -> None:
    found = resolve("+79161234568", numbering=None, country=None)
    assert found == TzResolution(("Europe/Moscow",), "default", None, "RU")


@pytest.mark.parametrize(
    ("number", "zone", "region"),
    [
        ("+7 8452 23-45-67", "Europe/Saratov", "Саратовская область"),  # phonenumbers: Moscow
        ("+7 4012 23-45-67", "Europe/Kaliningrad", "Калининградская область"),  # : Bucharest
        ("+7 8512 23-45-67", "Europe/Astrakhan", "Астраханская область"),  # : Samara
        ("+7 8332 23-45-67", "Europe/Kirov", "Кировская область"),
        ("+7 4152 23-45-67", "Asia/Kamchatka", "Камчатский край"),
        ("+7 7122 23-45-67", "Asia/Atyrau", "Атырауская область"),  # geocoded as a city
        ("+7 7172 23-45-67", "Asia/Almaty", "Астана"),
    ],
)
def test_rule_4_a_landline_uses_its_area_code_with_stale_zones_corrected(
    number: str, zone: str, region: str
) -> None:
    found = resolve(number)
    assert (found.zones, found.source, found.region) == ((zone,), "landline", region)


def test_rule_4_a_foreign_landline_uses_phonenumbers_zone() -> None:
    found = resolve("+1 212 555 0123")
    assert (found.zones, found.source, found.country) == (("America/New_York",), "landline", "US")


def test_rule_4_kazakhstan_is_one_zone_by_country() -> None:
    found = resolve("+7 701 555 12 34")
    assert found == TzResolution(("Asia/Almaty",), "country", None, "KZ")


def test_rule_4_a_single_zone_country_uses_its_zone_and_the_order_country_counts() -> None:
    assert resolve("+375 29 123-45-68").zones == ("Europe/Minsk",)
    found = resolve("+79161234568", country="kz")
    assert (found.zones, found.source, found.country) == (("Asia/Almaty",), "country", "KZ")


@pytest.mark.parametrize(
    ("number", "zones"),
    [
        ("+55 11 98765-4321", ("America/Sao_Paulo",)),  # one zone for this mobile prefix
        ("+55 92 98123-4567", ("America/Manaus",)),
        (
            "+61 412 345 678",  # several: all of them, westernmost first at AT
            (
                "Australia/Perth",
                "Australia/Eucla",
                "Australia/Adelaide",
                "Australia/Brisbane",
                "Australia/Sydney",
                "Australia/Lord_Howe",
            ),
        ),
    ],
)
def test_rule_4_a_foreign_mobile_gets_its_countrys_zones_never_the_campaign_default(
    number: str, zones: tuple[str, ...]
) -> None:
    """Issue 13 item 5: a dialled foreign number is called on its own clock."""
    found = resolve(number)
    assert (found.zones, found.source) == (zones, "country")


def test_rule_4_a_foreign_number_phonenumbers_cannot_place_gets_all_its_countrys_zones() -> None:
    found = resolve("+1 800 555 1234")  # toll-free: every NANP zone, kept to the US ones
    assert found.source == "country"
    assert {"America/New_York", "America/Los_Angeles", "Pacific/Honolulu"} <= set(found.zones)
    assert not {"America/Barbados", "America/Toronto"} & set(found.zones)


def test_rule_4_an_order_country_without_its_numbers_zones_gets_all_the_countrys() -> None:
    found = resolve("+79161234568", country="BR")
    assert found.source == "country"
    assert {"America/Sao_Paulo", "America/Manaus", "America/Noronha"} <= set(found.zones)


def test_rule_4_with_nothing_known_the_campaign_default_is_used() -> None:
    found = resolve("700000000000", region="Нарния")
    assert found == TzResolution(
        ("Europe/Moscow",),
        "default",
        None,
        None,
        ("address not recognised: region 'Нарния', city None",),
    )


def test_resolution_of_an_order_reads_its_fields() -> None:
    order = Order("1", "+79161234568", "Иван", "Крем", AT, region="Удмуртия", city="Ижевск")
    found = resolve_order_timezone(order, check_phone(order.phone), at=AT, default_tz="UTC")
    assert (found.zones, found.region) == (("Europe/Samara",), "Удмуртская Республика")


# --- the address table ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "region", "zones"),
    [
        ("Самарская обл", "Самарская область", ("Europe/Samara",)),
        ("Самарская область", "Самарская область", ("Europe/Samara",)),
        ("обл. Самарская", "Самарская область", ("Europe/Samara",)),
        ("г. Москва", "Москва", ("Europe/Moscow",)),
        ("Москва", "Москва", ("Europe/Moscow",)),
        ("Республика Саха (Якутия)", "Республика Саха (Якутия)", YAKUTIA),
        ("Республика Саха /Якутия/", "Республика Саха (Якутия)", YAKUTIA),
        ("Якутия", "Республика Саха (Якутия)", YAKUTIA),
        ("Саха", "Республика Саха (Якутия)", YAKUTIA),
        ("Респ Татарстан", "Республика Татарстан", ("Europe/Moscow",)),
        ("Татарстан", "Республика Татарстан", ("Europe/Moscow",)),
        ("ХМАО", "Ханты-Мансийский автономный округ — Югра", ("Asia/Yekaterinburg",)),
        (
            "Ханты-Мансийский автономный округ - Югра",
            "Ханты-Мансийский автономный округ — Югра",
            ("Asia/Yekaterinburg",),
        ),
        (
            "Ханты - Мансийский - Югра АО",
            "Ханты-Мансийский автономный округ — Югра",
            ("Asia/Yekaterinburg",),
        ),
        ("Кемеровская область - Кузбасс", "Кемеровская область — Кузбасс", ("Asia/Novokuznetsk",)),
        ("Кемеровская обл.", "Кемеровская область — Кузбасс", ("Asia/Novokuznetsk",)),
        ("Чувашия", "Чувашская Республика — Чувашия", ("Europe/Moscow",)),
        ("Чувашская Республика - Чувашия", "Чувашская Республика — Чувашия", ("Europe/Moscow",)),
        ("Алтайский край", "Алтайский край", ("Asia/Barnaul",)),
        ("Республика Алтай", "Республика Алтай", ("Asia/Barnaul",)),
        ("г. Москва и Московская область", "Москва и Московская область", ("Europe/Moscow",)),
        (
            "г. Санкт-Петербург и Ленинградская область",
            "Санкт-Петербург и Ленинградская область",
            ("Europe/Moscow",),
        ),
        ("Республика Крым", "Республика Крым", ("Europe/Simferopol",)),
        ("г. Севастополь", "Севастополь", ("Europe/Simferopol",)),
        ("Калининградская обл.", "Калининградская область", ("Europe/Kaliningrad",)),
        ("Камчатский край", "Камчатский край", ("Asia/Kamchatka",)),
        ("Саратовская обл.", "Саратовская область", ("Europe/Saratov",)),
        ("Удмуртская Республика", "Удмуртская Республика", ("Europe/Samara",)),
        ("Астраханская обл", "Астраханская область", ("Europe/Astrakhan",)),
        ("Ульяновская обл", "Ульяновская область", ("Europe/Ulyanovsk",)),
        ("Волгоградская обл", "Волгоградская область", ("Europe/Volgograd",)),
        ("Кировская обл", "Кировская область", ("Europe/Kirov",)),
        ("Чукотский АО", "Чукотский автономный округ", ("Asia/Anadyr",)),
        ("РЕСПУБЛИКА  СЕВЕРНАЯ ОСЕТИЯ-АЛАНИЯ", "Республика Северная Осетия — Алания", None),
        ("Еврейская АО", "Еврейская автономная область", ("Asia/Vladivostok",)),
        ("ДНР", "Донецкая Народная Республика", ("Europe/Moscow", "Europe/Kyiv")),
        ("Алматинская обл.", "Алматинская область", ("Asia/Almaty",)),
        ("г. Алматы", "Алматы", ("Asia/Almaty",)),
        ("Нур-Султан", "Астана", ("Asia/Almaty",)),
        ("ЗКО", "Западно-Казахстанская область", ("Asia/Oral",)),
        ("Актюбинская область", "Актюбинская область", ("Asia/Aqtobe",)),
        ("Ұлытау облысы", "область Ұлытау", ("Asia/Almaty",)),
    ],
)
def test_rule_4_region_is_recognised_in_its_usual_spellings(
    text: str, region: str, zones: tuple[str, ...] | None
) -> None:
    match = zones_for_address(text, None)
    assert match is not None
    assert match.region == region
    if zones is not None:
        assert match.zones == zones


def test_every_russian_federal_subject_is_listed_once_with_valid_zones() -> None:
    assert len(RUSSIAN_SUBJECTS) == 85
    assert len(CONTESTED_REGIONS) == 4
    assert len(KAZAKH_REGIONS) == 20
    names = [region.name for region in ALL_REGIONS]
    assert len(set(names)) == len(names)
    for region in ALL_REGIONS:
        assert all(zone in pytz.all_timezones_set for zone in region.zones), region.name
        assert {zone for _, zone in region.city_zones} <= set(region.zones), region.name


def test_every_region_name_and_alias_finds_its_own_region() -> None:
    for region in ALL_REGIONS:
        for name in (region.name, *region.aliases):
            assert find_regions(name) == (region,), name


def test_region_names_are_normalised_for_case_yo_punctuation_kind_words_and_order() -> None:
    assert place_key("  Респ.  САХА /Якутия/ ") == "саха якутия"
    assert place_key("Якутия (Саха), республика") == "саха якутия"
    assert place_key("Орёл г.") == "орел"
    assert place_key("Жетісу облысы") == "жетису"


def test_rule_4_yakutia_alone_yields_all_its_zones_westernmost_first() -> None:
    found = resolve(region="Республика Саха (Якутия)")
    assert found.zones == YAKUTIA
    offsets = [AT.astimezone(pytz.timezone(zone)).utcoffset() for zone in found.zones]
    assert offsets == [timedelta(hours=h) for h in (9, 9, 10, 11)]


@pytest.mark.parametrize(
    ("city", "zone"),
    [
        ("Якутск", "Asia/Yakutsk"),
        ("г. Мирный", "Asia/Yakutsk"),
        ("Хандыга", "Asia/Khandyga"),
        ("Оймякон", "Asia/Ust-Nera"),
        ("пгт Усть-Нера", "Asia/Ust-Nera"),
        ("Верхоянск", "Asia/Ust-Nera"),
        ("Среднеколымск", "Asia/Srednekolymsk"),
    ],
)
def test_rule_4_a_city_settles_yakutias_zone(city: str, zone: str) -> None:
    found = resolve(region="Якутия", city=city)
    assert (found.zones, found.region) == ((zone,), "Республика Саха (Якутия)")


def test_rule_4_sakhalin_oblast_has_the_north_kurils_zone_too() -> None:
    assert resolve(region="Сахалинская обл").zones == ("Asia/Sakhalin", "Asia/Srednekolymsk")
    assert resolve(region="Сахалинская обл", city="Северо-Курильск").zones == (
        "Asia/Srednekolymsk",
    )
    assert resolve(region="Сахалинская обл", city="Южно-Сахалинск").zones == ("Asia/Sakhalin",)


def test_rule_4_a_city_of_another_region_does_not_override_the_region() -> None:
    assert resolve(region="Самарская обл", city="Якутск").zones == ("Europe/Samara",)


def test_rule_4_a_city_alone_is_enough() -> None:
    found = resolve(city="г. Петропавловск-Камчатский")
    assert (found.zones, found.region, found.source) == (
        ("Asia/Kamchatka",),
        "Камчатский край",
        "address",
    )


def test_rule_4_an_unknown_region_with_a_known_city_uses_the_city() -> None:
    assert resolve(region="Неведомая обл", city="Калининград").zones == ("Europe/Kaliningrad",)


def test_zones_are_ordered_by_offset_at_the_instant_westernmost_first() -> None:
    zones = ["Asia/Kamchatka", "Europe/Kaliningrad", "Europe/Moscow", "Asia/Kamchatka"]
    assert order_zones(zones, AT) == ("Europe/Kaliningrad", "Europe/Moscow", "Asia/Kamchatka")
    with pytest.raises(ValueError, match="timezone-aware"):
        order_zones(zones, datetime(2024, 6, 3))  # noqa: DTZ001 - the case under test


# --- the in-memory numbering lookup -------------------------------------------------------


def test_in_memory_numbering_finds_range_edges_and_nothing_outside() -> None:
    numbering = InMemoryNumbering(
        [(912, 100_000, 199_999, "Пермский край"), (912, 0, 99_999, "Свердловская обл.")]
    )
    assert numbering.region_of("+79120000000") == "Свердловская обл."
    assert numbering.region_of("+79120099999") == "Свердловская обл."
    assert numbering.region_of("+79120100000") == "Пермский край"
    assert numbering.region_of("+79120199999") == "Пермский край"
    assert numbering.region_of("+79120200000") is None
    assert numbering.region_of("+79130000000") is None
    assert numbering.region_of("+380501234568") is None
