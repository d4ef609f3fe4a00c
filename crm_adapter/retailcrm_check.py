"""``crm check`` for RetailCRM: the configuration held against the account's own references.

Reads ``GET /api/v5/reference/statuses`` (code, name, active, group),
``/reference/status-groups`` (group names; when an account does not serve it the statuses'
own ``group`` is used), ``/custom-fields?filter[entity]=order`` and the dictionaries of the
dialer's fields, ``/reference/order-methods`` and ``/reference/sites``, and names the
config key of everything the account would refuse or misread:

* a mapped status that is not a status code of the account (a name instead of the code is
  named as such), or not active;
* a status of a closing group (``cancel``, ``complete``) for an outcome after which the
  dialer calls again (a no-answer, a callback): stock «Недозвон» ``no-call`` is one;
* an intake status the account does not have;
* a dialer custom field that does not exist or has a type its values cannot take, and a
  problem that is neither a code nor a name of the problem dictionary's elements;
* excluded sources that are not ``orderMethod`` codes;
* no ``site`` where the key sees several shops and orders are addressed by externalId, or
  a ``site`` the account does not have.

``suggest`` builds a ``[crm.mapping]`` from the account's statuses (by group and name).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from campaigns.outcomes import CrmFields, OutcomeKind
from campaigns.settings import CampaignSettings
from crm_adapter.errors import CrmRejectedError
from crm_adapter.retailcrm import RetailCrmAdapter
from crm_adapter.retailcrm_codes import CLOSING_GROUPS
from crm_adapter.retailcrm_fields import RECOMMENDED_TYPES, ROLE_TYPES, Catalogue

_SHOWN = 12  # codes listed in a message at most


@dataclass(frozen=True, slots=True)
class Finding:
    """One mismatch: the config key, what is wrong, and whether ``crm check`` fails on it."""

    key: str
    message: str
    fatal: bool = True

    def __str__(self) -> str:
        return f"{'error' if self.fatal else 'warning'}: {self.key}: {self.message}"


@dataclass(frozen=True, slots=True)
class Status:
    code: str
    name: str
    group: str
    active: bool
    ordering: int


@dataclass(frozen=True, slots=True)
class Account:
    """What ``crm check`` read from the account."""

    statuses: Mapping[str, Status]
    groups: Mapping[str, str]  # group code → name
    catalogue: Catalogue
    order_methods: Mapping[str, str]  # code → name
    sites: tuple[str, ...]

    def group_name(self, code: str) -> str:
        return self.groups.get(code, code)


def read_account(adapter: RetailCrmAdapter) -> Account:
    """Every reference ``crm check`` needs (raises ``CrmError`` as the adapter does)."""
    raw = adapter.reference("statuses", "statuses")
    statuses = {
        str(code): Status(
            str(code), str(s.get("name") or code), str(s.get("group") or ""),
            s.get("active") is not False, _int(s.get("ordering")),
        )
        for code, s in raw.items()
        if isinstance(s, dict)
    }  # fmt: skip
    try:
        groups_raw = adapter.reference("status-groups", "statusGroups")
    except CrmRejectedError:  # not served: the statuses name their groups
        groups_raw = {}
    groups = {str(c): str(g.get("name") or c) for c, g in groups_raw.items() if isinstance(g, dict)}
    methods_raw = adapter.reference("order-methods", "orderMethods")
    methods = {
        str(c): str(m.get("name") or c) for c, m in methods_raw.items() if isinstance(m, dict)
    }
    sites = tuple(str(code) for code in adapter.reference("sites", "sites"))
    return Account(statuses, groups, adapter.read_catalogue(), methods, sites)


def check_account(
    adapter: RetailCrmAdapter,
    account: Account,
    mapping: Mapping[OutcomeKind, CrmFields],
    campaign: CampaignSettings,
) -> list[Finding]:
    """Every mismatch between the configuration and ``account``, naming the key."""
    findings = _mapping_findings(account, mapping)
    for i, status in enumerate(campaign.intake_statuses):
        if status not in account.statuses:
            findings.append(
                Finding(f"campaign.intake_statuses[{i}]", _unknown_status(account, status))
            )
    lists = ("never_touch_statuses", "crm_confirmed_statuses", "crm_refused_statuses")
    for name in lists:
        for i, status in enumerate(getattr(campaign, name)):
            if status not in account.statuses:
                message = _unknown_status(account, status)
                findings.append(Finding(f"campaign.{name}[{i}]", message, fatal=False))
    findings += _field_findings(adapter, account.catalogue, mapping, campaign)
    findings += _source_findings(adapter, account, campaign)
    findings += _site_findings(adapter, account)
    return findings


def _mapping_findings(account: Account, mapping: Mapping[OutcomeKind, CrmFields]) -> list[Finding]:
    findings: list[Finding] = []
    for kind, fields in mapping.items():
        key = f"crm.mapping.{kind.value}.status"
        status = account.statuses.get(fields.status)
        if status is None:
            findings.append(Finding(key, _unknown_status(account, fields.status)))
            continue
        if not status.active:
            findings.append(Finding(key, f"status {status.code!r} is not active in the account"))
        if not kind.is_final and status.group in CLOSING_GROUPS:
            findings.append(Finding(key, (
                f"{status.code!r} «{status.name}» is in group {status.group!r} "
                f"«{account.group_name(status.group)}»: after a {kind.value} the dialer calls "
                "again, so the order must stay open; writing it would close the order "
                "(choose a status outside the cancel and complete groups, e.g. 'new')"
            )))  # fmt: skip
    return findings


def _field_findings(
    adapter: RetailCrmAdapter,
    catalogue: Catalogue,
    mapping: Mapping[OutcomeKind, CrmFields],
    campaign: CampaignSettings,
) -> list[Finding]:
    settings = adapter.settings
    cf = settings.custom_fields
    roles = ["problem", "call", "callback", "attempts", "marker", "state"]
    if settings.comment_to == "customField":
        roles.append("comment")
    findings: list[Finding] = []
    for role in roles:
        code = getattr(cf, role)
        if not code:
            continue
        key = f"crm.retailcrm.custom_fields.{role}"
        found = catalogue.type_of(role, code)
        allowed = ROLE_TYPES[role]
        if found is None:
            others = ", ".join(t for t in allowed if t != RECOMMENDED_TYPES[role])
            findings.append(Finding(key, (
                f"the account has no order custom field {code!r}: create one of type "
                f"{RECOMMENDED_TYPES[role]} (or {others}), or set {role} = \"\""
            )))  # fmt: skip
        elif found not in allowed:
            findings.append(Finding(key, (
                f"field {code!r} is of type {found}; {role} needs {', '.join(allowed)}"
            )))  # fmt: skip
    dictionary = catalogue.dictionary_of(cf.problem) if cf.problem else None
    if dictionary is None:
        return findings
    codes = ", ".join(c for c, _n in dictionary.elements[:_SHOWN])
    for kind, fields in mapping.items():
        if fields.problem and dictionary.element(fields.problem) is None:
            findings.append(Finding(f"crm.mapping.{kind.value}.problem", (
                f"{fields.problem!r} is neither the code nor the name of an element of "
                f"dictionary {dictionary.code!r} (codes: {codes})"
            )))  # fmt: skip
    for i, problem in enumerate(campaign.refusal_problems):
        if dictionary.element(problem) is None:
            findings.append(Finding(f"campaign.refusal_problems[{i}]", (
                f"{problem!r} is not an element of dictionary {dictionary.code!r}: a refusal "
                "with it keeps the problem in the comment only"
            ), fatal=False))  # fmt: skip
    return findings


def _source_findings(
    adapter: RetailCrmAdapter, account: Account, campaign: CampaignSettings
) -> list[Finding]:
    if adapter.settings.source_field != "orderMethod":
        return []
    findings: list[Finding] = []
    for i, source in enumerate(campaign.excluded_sources):
        if source in account.order_methods:
            continue
        named = [c for c, n in account.order_methods.items() if n.casefold() == source.casefold()]
        hint = f"; it is the name of {named[0]!r}, write the code" if named else ""
        codes = ", ".join(list(account.order_methods)[:_SHOWN])
        findings.append(Finding(f"campaign.excluded_sources[{i}]", (
            f"{source!r} is not an orderMethod code of the account (codes: {codes}){hint}"
        )))  # fmt: skip
    return findings


def _site_findings(adapter: RetailCrmAdapter, account: Account) -> list[Finding]:
    s = adapter.settings
    if s.site is not None and s.site not in account.sites:
        shown = ", ".join(account.sites[:_SHOWN])
        return [Finding("crm.retailcrm.site", f"the account has no site {s.site!r} ({shown})")]
    if s.site is None and s.by == "externalId" and len(account.sites) > 1:
        return [Finding("crm.retailcrm.site", (
            f"required: this key sees {len(account.sites)} shops "
            f"({', '.join(account.sites[:_SHOWN])}) and orders are addressed by externalId"
        ))]  # fmt: skip
    return []


def _unknown_status(account: Account, status: str) -> str:
    named = [s.code for s in account.statuses.values() if s.name.casefold() == status.casefold()]
    if named:
        return f"{status!r} is the name of status {named[0]!r}; RetailCRM takes the code"
    codes = ", ".join(sorted(account.statuses)[:_SHOWN])
    more = ", ..." if len(account.statuses) > _SHOWN else ""
    return f"{status!r} is not a status code of the account (codes: {codes}{more})"


# --- crm check --suggest ---------------------------------------------------------------------

# words of a status name that fit the outcome, the better first
_WORDS: Mapping[OutcomeKind, tuple[str, ...]] = {
    OutcomeKind.CONFIRMED: ("согласован", "подтвержд"),
    OutcomeKind.CALLBACK: ("перезвон", "в работе"),
    OutcomeKind.NO_ANSWER: ("недозвон", "не отвеча"),
    OutcomeKind.NO_ANSWER_FINAL: ("недозвон", "не отвеча"),
    OutcomeKind.REFUSED: ("отказ", "отмен"),
    OutcomeKind.INVALID: ("невалид", "некоррект"),
    OutcomeKind.SPAM: ("спам",),
    OutcomeKind.DUPLICATE: ("дубл",),
    OutcomeKind.CONSULT: ("консульт",),
}


def suggest(account: Account, mapping: Mapping[OutcomeKind, CrmFields]) -> str:
    """A ``[campaign]`` intake and ``[crm.mapping]`` from the account's active statuses:
    by name where one fits the outcome (open groups only for a no-answer or a callback),
    else by group (intake: the first of ``new``; confirmed: ``approval``; closing outcomes:
    ``cancel``). Problems are the current mapping's."""
    active = sorted(
        (s for s in account.statuses.values() if s.active), key=lambda s: (s.ordering, s.code)
    )
    in_group = {g: [s for s in active if s.group == g] for g in {s.group for s in active}}
    intake = (in_group.get("new") or active[:1])[0] if active else None
    lines = ["# built by `callback-dialer crm check --suggest` from the account's statuses"]
    if intake is not None:
        lines += ["[campaign]", f'intake_statuses = ["{intake.code}"]  # «{intake.name}»', ""]
    for kind in OutcomeKind:
        if kind is OutcomeKind.SKIPPED:
            continue
        status = _suggested(kind, active, in_group, intake)
        if status is None:
            continue
        lines.append(f"[crm.mapping.{kind.value}]")
        group = account.group_name(status.group)
        lines.append(f'status = "{status.code}"  # «{status.name}», group {status.group} «{group}»')
        fields = mapping.get(kind)
        if fields is not None and fields.problem:
            lines.append(f'problem = "{fields.problem}"')
    return "\n".join(lines) + "\n"


def _suggested(
    kind: OutcomeKind, active: list[Status], in_group: dict[str, list[Status]],
    intake: Status | None,
) -> Status | None:  # fmt: skip
    allowed = [s for s in active if kind.is_final or s.group not in CLOSING_GROUPS]
    for word in _WORDS.get(kind, ()):
        named = [s for s in allowed if word in s.name.casefold()]
        if named:
            return named[0]
    if kind is OutcomeKind.CONFIRMED and in_group.get("approval"):
        return in_group["approval"][0]
    if kind.is_final and kind is not OutcomeKind.CONSULT and in_group.get("cancel"):
        others = [s for s in in_group["cancel"] if s.code == "cancel-other"]
        return (others or in_group["cancel"])[0]
    return intake


def _names(entries: Mapping[str, Any]) -> dict[str, str]:
    """code → name of a reference object keyed by code."""
    return {str(c): str(e.get("name") or c) for c, e in entries.items() if isinstance(e, dict)}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
