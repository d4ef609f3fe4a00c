"""Generated arrival profiles for the planner: orders per day on an hourly curve, seeded.

An order's arrival hour follows the curve in the customer's local time (the zone of its
delivery region), so a Moscow evening and a Vladivostok evening are both evenings. Each
order's callee behaviour is drawn from a ``Behaviour`` mix. The same arguments and seed give
the same orders, byte for byte.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from campaigns.orders import Order
from campaigns.timezones import zones_for_address
from campaigns.window import zone
from dialer.sim.phones import SimCallee

HOURS = 24
# An online shop's day in local time: quiet at night, a late-morning rise, a lunch plateau
# and the evening peak (19-21 h), when people order from home.
CURVES: dict[str, tuple[float, ...]] = {
    "ecommerce": (1.2, 0.7, 0.4, 0.3, 0.3, 0.4, 0.8, 1.6, 2.8, 4.0, 5.0, 5.6,
                  5.8, 5.8, 5.6, 5.4, 5.4, 5.6, 6.2, 6.8, 7.0, 6.4, 4.6, 2.4),
    "flat": (1.0,) * HOURS,
}  # fmt: skip
# Regions with a weight for their share of orders (roughly by population); each names the
# zone the screener resolves for its address.
REGIONS: tuple[tuple[str, float], ...] = (
    ("г. Москва", 30.0),
    ("Краснодарский край", 10.0),
    ("Свердловская обл", 8.0),
    ("Татарстан", 8.0),
    ("Самарская обл", 7.0),
    ("Новосибирская обл", 7.0),
    ("Калининградская обл", 3.0),
    ("Приморский край", 4.0),
    ("Республика Саха (Якутия)", 2.0),
    ("Камчатский край", 1.0),
)
PRODUCTS = ("Перуанская мака", "AlcoBlocker", "NicoFrost - Капли от курения")


class ProfileError(ValueError):
    """An arrival profile or behaviour mix is malformed; the message names the part."""


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How generated customers behave (assumptions for planning, not measurements).

    ``answer_share``: customers who answer some call at all; ``pickup``: the chance that a
    given call reaching such a customer is the one answered (so the answered attempt is
    geometric: 1st with ``pickup``, 2nd with ``(1 - pickup) * pickup``, ...);
    ``confirm_share``: answering customers who confirm (the rest refuse).
    """

    answer_share: float = 0.8
    pickup: float = 0.5
    confirm_share: float = 0.7

    def __post_init__(self) -> None:
        for name in ("answer_share", "pickup", "confirm_share"):
            value = getattr(self, name)
            if not 0 <= value <= 1 or (name == "pickup" and value == 0):
                low = "0 (exclusive)" if name == "pickup" else "0"
                raise ProfileError(f"--{name.replace('_', '-')}: must be between {low} and 1")


@dataclass(frozen=True, slots=True)
class Profile:
    per_day: int
    hourly: tuple[float, ...]
    behaviour: Behaviour


def parse_curve(text: str) -> tuple[float, ...]:
    """A named curve (``ecommerce``, ``flat``) or 24 comma-separated non-negative weights,
    hour 0 first; raises ``ProfileError`` naming the bad part."""
    named = CURVES.get(text.strip().lower())
    if named is not None:
        return named
    parts = text.split(",")
    if len(parts) != HOURS:
        raise ProfileError(
            f"--hourly: expected {', '.join(sorted(CURVES))} or {HOURS} comma-separated "
            f"weights, got {len(parts)} value(s)"
        )
    weights = []
    for hour, part in enumerate(parts):
        try:
            value = float(part)
        except ValueError:
            raise ProfileError(f"--hourly: hour {hour}: not a number: {part.strip()!r}") from None
        if not math.isfinite(value) or value < 0:
            raise ProfileError(f"--hourly: hour {hour}: must be a non-negative number")
        weights.append(value)
    if sum(weights) <= 0:
        raise ProfileError("--hourly: at least one hour needs a positive weight")
    return tuple(weights)


def generate(
    profile: Profile, start: datetime, days: float, seed: int
) -> list[tuple[Order, SimCallee]]:
    """``per_day`` orders in each 24 h from ``start`` (the last day pro rata), each arriving
    at a local hour drawn from the curve; deterministic from ``seed``."""
    rng = random.Random(seed)
    regions = [(name, _offset_s(name, start)) for name, _ in REGIONS]
    weights = [w for _, w in REGIONS]
    orders: list[tuple[Order, SimCallee]] = []
    for day in range(math.ceil(days)):
        share = min(1.0, days - day)  # the last, partial day gets its share of orders
        for _ in range(round(profile.per_day * share)):
            region, offset = rng.choices(regions, weights)[0]
            local_s = rng.choices(range(HOURS), profile.hourly)[0] * 3600 + rng.randrange(3600)
            into_day = (local_s - offset - _seconds_of_day(start)) % 86_400
            created = start + timedelta(days=day, seconds=into_day)
            orders.append(_order(len(orders), region, created, rng, profile.behaviour))
    return orders


def _order(
    n: int, region: str, created: datetime, rng: random.Random, behaviour: Behaviour
) -> tuple[Order, SimCallee]:
    order = Order(
        id=str(5_000_000 + n),
        phone=f"+79{rng.randrange(100_000_000, 999_999_999)}",
        name=f"Клиент {n}",
        product=rng.choice(PRODUCTS),
        created_at=created,
        status="Ожидает подтверждения",
        state="Новый",
        region=region,
    )
    return order, _callee(rng, behaviour)


def _callee(rng: random.Random, behaviour: Behaviour) -> SimCallee:
    if rng.random() >= behaviour.answer_share:
        return SimCallee(None)
    attempt = 1
    while rng.random() >= behaviour.pickup:
        attempt += 1
    confirms = rng.random() < behaviour.confirm_share
    return SimCallee(attempt, "confirmed" if confirms else "refused")


def _offset_s(region: str, at: datetime) -> int:
    match = zones_for_address(region, None)
    if match is None or not match.zones:
        raise ProfileError(f"region {region!r} has no known zone")
    offset = zone(match.zones[0]).utcoffset(at.replace(tzinfo=None))
    return 0 if offset is None else int(offset.total_seconds())


def _seconds_of_day(at: datetime) -> int:
    return at.hour * 3600 + at.minute * 60 + at.second
