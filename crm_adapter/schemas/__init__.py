"""JSON Schemas (draft 2020-12) of the HTTP/JSON CRM protocol's messages (docs/crm.md).

Shipped as package data and served read-only at ``/api/v1/schemas/<name>.json``.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

NAMES = (
    "order",
    "pull-page",
    "status-answer",
    "intake-push",
    "outcome",
    "outcome-answer",
)


def schema_text(name: str) -> bytes:
    """The schema file ``<name>.json`` as shipped; KeyError for a name not in ``NAMES``
    (never a path: only these names are looked up)."""
    if name not in NAMES:
        raise KeyError(name)
    return resources.files(__name__).joinpath(f"{name}.json").read_bytes()


def schema(name: str) -> dict[str, Any]:
    """The schema ``name`` as a JSON object."""
    data: dict[str, Any] = json.loads(schema_text(name))
    return data
