"""Writes a synthetic orders file for the simulator benchmark (seeded, reproducible).

One order in ``CANCEL_EVERY`` is cancelled in the CRM (``sim.cancel_at``) some time in its
first two days, so the never-touch re-check has something to find; those draws come from a
second generator, so the other fields are the same as before they were added."""

from __future__ import annotations

import argparse
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REGIONS = (
    "г. Москва",
    "Самарская обл",
    "Республика Саха (Якутия)",
    "Калининградская обл",
    "Камчатский край",
    "Новосибирская обл",
    "Приморский край",
    "Свердловская обл",
    "Краснодарский край",
    "Татарстан",
)
PRODUCTS = (
    "Перуанская мака",
    "NicoFrost - Капли от курения",
    "AlcoBlocker",
    "Mangosteen - сироп для похудения",
)


CANCEL_EVERY = 25


def write_orders(path: Path, n: int, start: datetime, seed: int) -> None:
    rng = random.Random(seed)
    cancels = random.Random(f"cancel-{seed}")
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            created = start + timedelta(seconds=rng.randrange(0, 24 * 3600))
            order: dict[str, Any] = {
                "id": str(1_000_000 + i),
                "phone": f"+79{rng.randrange(100_000_000, 999_999_999)}",
                "name": f"Клиент {i}",
                "product": rng.choice(PRODUCTS),
                "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "status": "Ожидает подтверждения",
                "state": "Новый",
                "region": rng.choice(REGIONS),
                "sim": {
                    "answer_on_attempt": rng.choice((1, 1, 2, 3, 5, None)),
                    "disposition": rng.choice(("confirmed", "confirmed", "refused")),
                },
            }
            if cancels.randrange(CANCEL_EVERY) == 0:
                cancel_at = created + timedelta(seconds=cancels.randrange(0, 2 * 24 * 3600))
                order["sim"]["cancel_at"] = cancel_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            out.write(json.dumps(order, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    write_orders(args.path, args.orders, datetime(2026, 3, 10, 0, 0, tzinfo=UTC), args.seed)


if __name__ == "__main__":
    main()
