"""Which time zones a customer may be in (business-rules §4), from order, address or number.

Resolution takes the first step that yields a zone:

1. ``order``     – an explicit IANA zone on the order (an unknown name is noted and skipped);
2. ``address``   – region (and city, to settle a multi-zone region) via campaigns.regions;
3. ``numbering`` – a Russian (+7, country RU) number's range in the numbering plan → region;
4. ``landline``  – a non-mobile number: phonenumbers' geocoded region in our table (which
   corrects its stale zones: Saratov, Kaliningrad = Europe/Bucharest, Astrakhan, ...),
   else its time zones when they all belong to the number's country (this drops the
   16-zone answer for every +7 mobile);
5. ``country``   – KZ → Asia/Almaty; any other country but Russia: phonenumbers' zones
   for the number kept to that country's own (one → that zone, several → all of them, so
   the every-zone-open rule applies), else all the country's zones. Never the campaign
   default: a foreign number is called on its own clock, not Moscow's;
6. ``default``   – the campaign's default zone: a Russian number nothing above placed
   (phonenumbers' answer for +7, 16 zones from Kaliningrad to Kamchatka, leaves no
   hour open in all of them), or no country at all.

Zones are ordered by UTC offset at the resolution instant, westernmost first, ties in
table order. ``zones[0]`` is the reference zone for local dates (calling days, comments):
the westernmost zone is the last to start a new day, so a day counted there has begun
everywhere.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal, Protocol

import phonenumbers
import pytz
from phonenumbers import timezone as number_timezones

from campaigns.orders import Order
from campaigns.phones import PhoneCheck
from campaigns.regions import ALL_REGIONS, Region

TzSource = Literal["order", "address", "numbering", "landline", "country", "default"]


@dataclass(frozen=True, slots=True)
class TzResolution:
    """Candidate zones (never empty), where they came from, and what was skipped why."""

    zones: tuple[str, ...]
    source: TzSource
    region: str | None
    country: str | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CustomerPlace:
    """What the order says about where the customer is."""

    tz: str | None = None
    region: str | None = None
    city: str | None = None
    country: str | None = None

    @classmethod
    def of_order(cls, order: Order) -> CustomerPlace:
        return cls(order.tz, order.region, order.city, order.country)


class NumberingLookup(Protocol):
    """The numbering plan: the region name of the range holding a +7 number, or None."""

    def region_of(self, e164: str) -> str | None: ...


class InMemoryNumbering:
    """NumberingLookup over ``(code, first, last, region)`` rows: +7, 3-digit ABC/DEF
    code, first and last 7-digit subscriber numbers of the range (inclusive)."""

    def __init__(self, ranges: Iterable[tuple[int | str, int | str, int | str, str]]) -> None:
        self._ranges: dict[int, list[tuple[int, int, str]]] = {}
        for code, first, last, region in ranges:
            self._ranges.setdefault(int(code), []).append((int(first), int(last), region))
        for rows in self._ranges.values():
            rows.sort()

    def region_of(self, e164: str) -> str | None:
        if not _RU_E164.fullmatch(e164):
            return None
        rows = self._ranges.get(int(e164[2:5]), [])
        subscriber = int(e164[5:])
        index = bisect.bisect_right(rows, (subscriber, _MAX_SUBSCRIBER + 1, "")) - 1
        if index >= 0 and rows[index][0] <= subscriber <= rows[index][1]:
            return rows[index][2]
        return None


@dataclass(frozen=True, slots=True)
class _Found:
    zones: tuple[str, ...]
    source: TzSource
    region: str | None


@dataclass(frozen=True, slots=True)
class AddressMatch:
    """Zones named by an address, and the canonical region name when one was found."""

    zones: tuple[str, ...]
    region: str | None


_RU_E164 = re.compile(r"\+7[0-9]{10}")
_MAX_SUBSCRIBER = 9_999_999
_KAZAKH_LETTERS = str.maketrans("әөүұқғңһіё", "аоуукгнхие")
_PARTS = re.compile(r"[,;|]|\sи\s", re.IGNORECASE)
_TOKEN = re.compile(r"[^\W_]+")
# Words that say what kind of place it is, not which: dropped before comparing names.
_KIND_WORDS = frozenset(
    (
        *("область", "обл", "облысы", "республика", "респ", "край", "кр"),
        *("автономный", "автономная", "авт", "округ", "окр", "ао", "аобл"),
        *("г", "гор", "город", "каласы", "федерального", "значения"),
        *("пгт", "рп", "с", "село", "п", "пос", "поселок", "д", "деревня", "ст", "станица"),
    )
)
_COUNTRY_ZONE = {"KZ": "Asia/Almaty"}
# Russia's zones are too many to be open at once: an unplaced Russian number takes the
# campaign default (business-rules §4).
_DEFAULT_COUNTRIES = frozenset({"RU"})


def place_key(text: str) -> str:
    """Compare-ready form of a region or city name: lower case, ё → е, Kazakh letters
    folded, punctuation and kind words (обл., Респ, край, АО, г.) dropped, words sorted."""
    words = _TOKEN.findall(text.lower().translate(_KAZAKH_LETTERS))
    return " ".join(sorted({word for word in words if word not in _KIND_WORDS}))


def _index_regions(regions: Iterable[Region]) -> dict[str, Region]:
    index: dict[str, Region] = {}
    for region in regions:
        for name in (region.name, *region.aliases):
            index[place_key(name)] = region
    return index


def _index_cities(regions: Iterable[Region]) -> dict[str, list[tuple[Region, str]]]:
    index: dict[str, list[tuple[Region, str]]] = {}
    for region in regions:
        pairs = [*((city, region.zones[0]) for city in region.cities), *region.city_zones]
        for city, zone in pairs:
            index.setdefault(place_key(city), []).append((region, zone))
    return index


_REGIONS: Mapping[str, Region] = _index_regions(ALL_REGIONS)
_CITIES: Mapping[str, list[tuple[Region, str]]] = _index_cities(ALL_REGIONS)


def find_regions(text: str) -> tuple[Region, ...]:
    """Regions named by ``text``; several for numbering-plan forms such as
    "г. Москва и Московская область". Unknown parts are ignored."""
    found: list[Region] = []
    for part in _PARTS.split(text):
        region = _REGIONS.get(place_key(part))
        if region is not None and region not in found:
            found.append(region)
    return tuple(found)


@lru_cache(maxsize=4096)
def zones_for_address(region: str | None, city: str | None) -> AddressMatch | None:
    """Zones for a region and city. The region decides; the city only narrows a
    multi-zone region, or stands in when the region is missing or unknown. A pure function
    of two strings, cached: a batch of orders repeats the same few addresses."""
    regions = find_regions(region) if region else ()
    city_hits = _CITIES.get(place_key(city), []) if city else []
    if not regions:
        if not city_hits:
            return None
        named = {hit.name for hit, _ in city_hits}
        only = named.pop() if len(named) == 1 else None
        return AddressMatch(_unique(zone for _, zone in city_hits), only)
    zones = _unique(zone for found in regions for zone in found.zones)
    narrowed = [zone for hit, zone in city_hits if hit in regions]
    if len(zones) > 1 and narrowed:
        zones = _unique(narrowed)
    return AddressMatch(zones, " и ".join(found.name for found in regions))


def known_zone(name: str) -> str | None:
    """The canonical IANA name of ``name`` if pytz knows it, else None."""
    try:
        return str(pytz.timezone(name.strip()).zone)
    except (pytz.UnknownTimeZoneError, ValueError, AttributeError):
        return None


def order_zones(zones: Iterable[str], at: datetime) -> tuple[str, ...]:
    """Distinct zones sorted by UTC offset at ``at`` (westernmost first), ties in order."""
    if at.tzinfo is None:
        raise ValueError(f"instant must be timezone-aware: {at!r}")
    unique = _unique(zones)
    if len(unique) == 1:
        return unique
    offsets = {zone: _offset(zone, at) for zone in unique}
    return tuple(sorted(unique, key=lambda zone: offsets[zone]))


def resolve_timezone(
    phone: PhoneCheck,
    place: CustomerPlace,
    *,
    at: datetime,
    default_tz: str,
    numbering: NumberingLookup | None = None,
) -> TzResolution:
    """The customer's candidate zones, following the steps in this module's docstring."""
    notes: list[str] = []
    country = (place.country or "").upper() or phone.country
    found = (
        _from_order(place.tz, notes)
        or _from_address(place, notes)
        or _from_numbering(phone, numbering, notes)
        or _from_landline(phone)
        or _from_country(country, phone)
        or _Found((default_tz,), "default", None)
    )
    return TzResolution(
        order_zones(found.zones, at), found.source, found.region, country, tuple(notes)
    )


def resolve_order_timezone(
    order: Order,
    phone: PhoneCheck,
    *,
    at: datetime,
    default_tz: str,
    numbering: NumberingLookup | None = None,
) -> TzResolution:
    """resolve_timezone for a CRM order (its tz, region, city and country fields)."""
    place = CustomerPlace.of_order(order)
    return resolve_timezone(phone, place, at=at, default_tz=default_tz, numbering=numbering)


def _from_order(tz: str | None, notes: list[str]) -> _Found | None:
    if not tz or not tz.strip():
        return None
    zone = known_zone(tz)
    if zone is None:
        notes.append(f"unknown time zone {tz!r} on the order ignored")
        return None
    return _Found((zone,), "order", None)


def _from_address(place: CustomerPlace, notes: list[str]) -> _Found | None:
    match = zones_for_address(place.region, place.city)
    if match is None:
        if place.region or place.city:
            notes.append(f"address not recognised: region {place.region!r}, city {place.city!r}")
        return None
    return _Found(match.zones, "address", match.region)


def _from_numbering(
    phone: PhoneCheck, numbering: NumberingLookup | None, notes: list[str]
) -> _Found | None:
    if numbering is None or phone.e164 is None or phone.country != "RU":
        return None
    name = numbering.region_of(phone.e164)
    if name is None:
        return None
    regions = find_regions(name)
    if not regions:
        notes.append(f"numbering-plan region {name!r} not in the region table")
        return None
    zones = _unique(zone for region in regions for zone in region.zones)
    return _Found(zones, "numbering", " и ".join(region.name for region in regions))


def _from_landline(phone: PhoneCheck) -> _Found | None:
    if phone.e164 is None or phone.kind == "mobile":
        return None
    parsed = phonenumbers.parse(phone.e164, None)
    if phone.country in ("RU", "KZ"):
        described = _geocoded_place(parsed)
        match = zones_for_address(described, described)
        if match is not None:
            return _Found(match.zones, "landline", match.region)
    zones = number_timezones.time_zones_for_number(parsed)
    country_zones = set(pytz.country_timezones.get(phone.country or "", ()))
    if zones and all(zone in country_zones for zone in zones):
        return _Found(tuple(zones), "landline", None)
    return None


def _geocoded_place(parsed: phonenumbers.PhoneNumber) -> str:
    """phonenumbers' place of a landline, in Russian. The geocoder is imported here, on the
    first landline: importing it loads every language's place names (≈0.4 s at each start
    of the service, the CLI and the simulator), and only this step reads them."""
    from phonenumbers import geocoder  # noqa: PLC0415 - see the docstring

    return str(geocoder.description_for_number(parsed, "ru"))


def _from_country(country: str | None, phone: PhoneCheck) -> _Found | None:
    if not country or country in _DEFAULT_COUNTRIES:
        return None
    if country in _COUNTRY_ZONE:
        return _Found((_COUNTRY_ZONE[country],), "country", None)
    own = tuple(pytz.country_timezones.get(country, ()))
    zones = _number_zones(phone, own) if phone.country == country else ()
    return _Found(zones or own, "country", None) if own else None


def _number_zones(phone: PhoneCheck, own: tuple[str, ...]) -> tuple[str, ...]:
    """phonenumbers' zones for the number (by its area or mobile prefix) that belong to
    its country; empty when it knows none (``Etc/Unknown``) or only other countries'."""
    if phone.e164 is None:
        return ()
    parsed = phonenumbers.parse(phone.e164, None)
    return tuple(z for z in number_timezones.time_zones_for_number(parsed) if z in own)


def _offset(zone: str, at: datetime) -> timedelta:
    offset = at.astimezone(pytz.timezone(zone)).utcoffset()
    return offset if offset is not None else timedelta(0)


def _unique(zones: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(zones))
