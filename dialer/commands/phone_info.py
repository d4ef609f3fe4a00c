"""`callback-dialer phone-info`: what the dialer makes of one number, as one JSON object.

The number is checked and normalised (business-rules §3; ``suspicious`` says why a valid
number looks made up – shown to ops, it is dialled all the same), its time zones resolved
(§4: order zone, address, numbering plan from ``--db``, landline code, country, default)
and the calling window evaluated at ``--at`` (default: now, read here and only here).
Every number exits 0, valid or not; a bad option exits 2 naming it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytz

from campaigns.phones import check_phone
from campaigns.settings import CallingWindow, CampaignSettings
from campaigns.timezones import CustomerPlace, NumberingLookup, known_zone
from campaigns.zone_facts import zone_facts
from dialer.cli import UsageError
from dialer.storage.engine import make_engine
from dialer.storage.errors import DatabaseUrlError, StorageError
from dialer.storage.numbering import SqlNumberingLookup

if TYPE_CHECKING:
    from argparse import _SubParsersAction

_WINDOW = re.compile(r"([0-9]{1,2}):([0-9]{2})-([0-9]{1,2}):([0-9]{2})")


@dataclass(frozen=True, slots=True)
class PhoneInfoRequest:
    """The command's arguments, validated."""

    number: str
    place: CustomerPlace
    at: datetime
    window: CallingWindow
    default_tz: str


def register(sub: _SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "phone-info",
        help="check a number, resolve its time zones and the calling window, as JSON",
        description="Prints one JSON object: the normalised number and why it is invalid "
        "if it is, its candidate time zones and where they came from, and whether the "
        "calling window is open at --at in all of them (and when it next opens).",
    )
    parser.add_argument("number", metavar="NUMBER")
    parser.add_argument("--region", help="delivery region, e.g. 'Самарская обл'")
    parser.add_argument("--city", help="delivery city, e.g. 'Якутск'")
    parser.add_argument("--tz", metavar="ZONE", help="explicit IANA zone on the order")
    parser.add_argument("--country", metavar="CC", help="ISO 3166 country code, e.g. KZ")
    parser.add_argument("--at", metavar="ISO8601", help="instant with zone (default: now)")
    parser.add_argument(
        "--window", metavar="HH:MM-HH:MM", default="10:00-19:00", help="default %(default)s"
    )
    parser.add_argument(
        "--default-tz",
        metavar="ZONE",
        default=CampaignSettings().default_tz,
        help="campaign default zone (default %(default)s)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    request = parse_request(args, now=datetime.now(UTC))
    print(json.dumps(describe(request, numbering_lookup(args.db)), ensure_ascii=False))
    return 0


def parse_request(args: argparse.Namespace, *, now: datetime) -> PhoneInfoRequest:
    """Validate the options; raises UsageError naming the first bad one."""
    place = CustomerPlace(
        tz=_zone_option("--tz", args.tz) if args.tz is not None else None,
        region=args.region,
        city=args.city,
        country=_country_option(args.country) if args.country is not None else None,
    )
    return PhoneInfoRequest(
        number=args.number,
        place=place,
        at=_at_option(args.at) if args.at is not None else now,
        window=_window_option(args.window),
        default_tz=_zone_option("--default-tz", args.default_tz),
    )


def describe(request: PhoneInfoRequest, numbering: NumberingLookup | None) -> dict[str, Any]:
    """The JSON object printed for ``request``."""
    phone = check_phone(request.number)
    facts = zone_facts(
        phone,
        request.place,
        at=request.at,
        window=request.window,
        default_tz=request.default_tz,
        numbering=numbering,
    )
    return {
        "input": phone.input,
        "e164": phone.e164,
        "valid": phone.valid,
        "invalid_reason": str(phone.invalid_reason) if phone.invalid_reason else None,
        "suspicious": phone.suspicious,
        "country": facts.country,
        "region": facts.region,
        "timezones": list(facts.zones),
        "tz_source": facts.source,
        "window_open": facts.window_open,
        "next_window_open": format_utc(facts.next_open) if facts.next_open is not None else None,
    }


def format_utc(at: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``; seconds unless the instant has a fraction."""
    spec = "microseconds" if at.microsecond else "seconds"
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def numbering_lookup(db_url: str) -> NumberingLookup | None:
    """The numbering-plan table in the database at ``db_url``, or None when that database
    does not exist yet (phone-info only reads: it never creates a database file)."""
    try:
        engine = make_engine(db_url)
    except DatabaseUrlError as exc:
        raise UsageError(f"--db: {exc}") from exc
    if _missing_sqlite_file(engine.url.get_backend_name(), engine.url.database):
        return None  # phone-info only reads: it never creates a database file
    return _ForgivingLookup(SqlNumberingLookup(engine), StorageError)


def _missing_sqlite_file(backend: str, database: str | None) -> bool:
    if backend != "sqlite" or not database or database == ":memory:":
        return False
    return not database.startswith("file:") and not Path(database).expanduser().exists()


class _ForgivingLookup:
    """A numbering table that cannot be read (not imported yet, database down) answers
    "not found" with a warning on stderr: phone-info still reports everything else."""

    def __init__(self, inner: NumberingLookup, errors: type[Exception]) -> None:
        self._inner = inner
        self._errors = errors

    def region_of(self, e164: str) -> str | None:
        try:
            return self._inner.region_of(e164)
        except self._errors as exc:
            reason = str(exc).splitlines()[0]
            print(f"callback-dialer: warning: numbering table not used: {reason}", file=sys.stderr)
            return None


def _zone_option(option: str, value: str) -> str:
    zone = known_zone(value)
    if zone is None:
        raise UsageError(f"{option}: unknown IANA time zone {value!r} (e.g. Europe/Moscow)")
    return zone


def _country_option(value: str) -> str:
    code = value.strip().upper()
    if code not in pytz.country_names:
        raise UsageError(f"--country: unknown ISO 3166 country code {value!r} (e.g. RU, KZ)")
    return code


def _at_option(value: str) -> datetime:
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--at: not an ISO 8601 date-time: {value!r}") from None
    if at.tzinfo is None:
        raise UsageError(f"--at: needs a zone, e.g. {value}Z or {value}+03:00")
    return at.astimezone(UTC)


def _window_option(value: str) -> CallingWindow:
    match = _WINDOW.fullmatch(value.strip())
    if match is None:
        raise UsageError(f"--window: expected HH:MM-HH:MM, got {value!r}")
    hours_a, minutes_a, hours_b, minutes_b = (int(group) for group in match.groups())
    try:
        return CallingWindow(start=time(hours_a, minutes_a), end=time(hours_b, minutes_b))
    except ValueError as exc:
        raise UsageError(f"--window {value!r}: {exc}") from None
