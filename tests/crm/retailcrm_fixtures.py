"""Reference data the RetailCRM double serves, shaped as RetailCRM's official clients' fixtures.

Each shape is taken from (read, not copied) a file of RetailCRM's official API clients:

* statuses and status groups — retailcrm/api-client-php
  ``tests/src/ResourceGroup/ReferencesTest.php`` (``testStatuses``: ``{"statuses": {code:
  {"name", "code", "active", "ordering", "group"}}}``; ``testStatusGroups``:
  ``{"statusGroups": {code: {"name", "code", "active", "ordering", "process",
  "statuses": [codes]}}}``). The stock statuses below are the fixture's stock ones: group
  ``new`` (``new``), ``approval`` (``availability-confirmed``, ``offer-analog``,
  ``client-confirmed``, ``prepayed``), ``assembling``, ``delivery``, ``complete``
  (``complete``) and ``cancel`` (``no-call`` «Недозвон», ``no-product``, ``already-buyed``,
  ``delyvery-did-not-suit`` (sic), ``prices-did-not-suit``, ``cancel-other``);
* order methods — the same file, ``testOrderMethods`` (``{"orderMethods": {code: {"name",
  "code", "active", "defaultForCrm", "defaultForApi"}}}``);
* sites — the same file, ``testSites`` (``{"sites": {code: {"id", "name", "url", "code"}}}``);
* custom fields — retailcrm/api-client-php ``tests/src/ResourceGroup/CustomFieldsTest.php``
  (``testList``: ``{"pagination": {...}, "customFields": [{"name", "code", "type",
  "entity", "dictionary"?}]}``, queried with ``filter[entity]=order``;
  ``testDictionariesGet``: ``{"customDictionary": {"name", "code", "elements": [{"name",
  "code", "ordering"}]}}``); the types are ``src/Enum/CustomFields/CustomFieldType.php``'s
  (boolean, date, dictionary, email, integer, numeric, string, text) plus
  ``multiselect_dictionary`` from the list fixture — there is no datetime type;
* an order without ``externalId`` — ``tests/src/ResourceGroup/OrdersTest.php``
  (``testList``: order 7141, number ``7141C``, ``orderMethod`` ``phone``, no externalId);
* order history — ``tests/src/ResourceGroup/OrdersTest.php`` (``testHistory``: ``{"success":
  true, "generatedAt", "history": [{"id", "createdAt", "created", "source": "api", "field":
  "status", "apiKey": {"current": false}, "oldValue": null, "newValue": {"code": "new"},
  "order": {"id", "number", "externalId", "site", "status", ...}}], "pagination": {...}}``,
  asked ``filter[sinceId]`` with ``limit`` 100) and ``src/Model/Entity/Orders/OrderHistory.php``
  (``deleted``, ``user``), ``src/Model/Entity/HistoryApiKey.php`` (``current``);
* the order list filtered by ids — ``src/Model/Filter/Orders/OrderFilter.php`` (``ids``,
  ``externalIds``);
* errors — retailcrm/api-client-go ``error.go`` (``{"success": false, "errorMsg": ...,
  "errors": {field: message}}``; "Errors in the entity format" is a validation error; a
  body starting with ``<`` means the account does not exist) and api-client-php
  ``tests/src/ResourceGroup/ErrorTest.php`` (``testHtmlAccountDoesntExistHandling``: HTTP
  405 with nginx's HTML page).
"""

from __future__ import annotations

from typing import Any

STOCK_GROUPS: dict[str, tuple[str, int, tuple[str, ...]]] = {
    "new": ("Новый", 10, ("new",)),
    "approval": (
        "Согласование", 20,
        ("availability-confirmed", "offer-analog", "client-confirmed", "prepayed"),
    ),
    "assembling": ("Комплектация", 30, ("send-to-assembling", "assembling", "assembling-complete")),
    "delivery": ("Доставка", 40, ("send-to-delivery", "delivering", "redirect", "delivered")),
    "complete": ("Выполнен", 50, ("complete",)),
    "cancel": (
        "Отменен", 60,
        ("no-call", "no-product", "already-buyed", "delyvery-did-not-suit",
         "prices-did-not-suit", "cancel-other"),
    ),
}  # fmt: skip

STOCK_NAMES: dict[str, str] = {
    "new": "Новый",
    "availability-confirmed": "Наличие подтверждено",
    "offer-analog": "Предложить замену",
    "client-confirmed": "Согласовано с клиентом",
    "prepayed": "Предоплата поступила",
    "send-to-assembling": "Передано в комплектацию",
    "assembling": "Комплектуется",
    "assembling-complete": "Укомплектован",
    "send-to-delivery": "Передан в доставку",
    "delivering": "Доставляется",
    "redirect": "Доставка перенесена",
    "delivered": "Доставлен",
    "complete": "Выполнен",
    "no-call": "Недозвон",
    "no-product": "Нет в наличии",
    "already-buyed": "Купил в другом месте",
    "delyvery-did-not-suit": "Не устроила доставка",
    "prices-did-not-suit": "Не устроила цена",
    "cancel-other": "Отменен",
}


def stock_statuses() -> dict[str, dict[str, Any]]:
    """``reference/statuses``'s ``statuses`` object for an account with stock statuses."""
    return {
        code: {"name": STOCK_NAMES[code], "code": code, "active": True,
               "ordering": 10 * (i + 1), "group": group}
        for group, (_name, _order, codes) in STOCK_GROUPS.items()
        for i, code in enumerate(codes)
    }  # fmt: skip


def stock_status_groups() -> dict[str, dict[str, Any]]:
    """``reference/status-groups``'s ``statusGroups`` object for the stock groups."""
    return {
        code: {"name": name, "code": code, "active": True, "ordering": ordering,
               "process": code not in ("new", "complete", "cancel"), "statuses": list(codes)}
        for code, (name, ordering, codes) in STOCK_GROUPS.items()
    }  # fmt: skip


ORDER_METHODS: dict[str, dict[str, Any]] = {
    code: {"name": name, "code": code, "active": True, "defaultForCrm": code == "phone",
           "defaultForApi": code == "shopping-cart", "isFromPos": False}
    for code, name in (
        ("phone", "По телефону"), ("shopping-cart", "Через корзину"),
        ("one-click", "В один клик"),
        ("kaspi", "Kaspi"),  # not in the fixture: a method a shop adds for its marketplace
    )
}  # fmt: skip


def site(code: str, number: int) -> dict[str, Any]:
    return {"id": number, "name": code, "url": f"https://{code}.example", "code": code,
            "defaultForCrm": number == 1, "countryIso": "RU", "currency": "RUB"}  # fmt: skip


def custom_field(code: str, kind: str, dictionary: str | None = None) -> dict[str, Any]:
    """One ``customFields[]`` entry of ``GET /api/v5/custom-fields?filter[entity]=order``."""
    field: dict[str, Any] = {
        "name": code, "code": code, "required": False, "inFilter": True, "inList": True,
        "inGroupActions": False, "type": kind, "entity": "order", "ordering": 50,
        "displayArea": "customer", "viewMode": "editable",
    }  # fmt: skip
    if dictionary is not None:
        field["dictionary"] = dictionary
    return field


# the fields docs/crm.md tells an admin to create, with the types it names
DIALER_FIELDS: list[dict[str, Any]] = [
    custom_field("problem", "dictionary", "dialer_problems"),
    custom_field("call", "boolean"),
    custom_field("callback_at", "string"),
    custom_field("attempts", "integer"),
    custom_field("dialer_event", "string"),
    custom_field("state", "string"),
]

PROBLEM_DICTIONARY: dict[str, Any] = {
    "name": "Проблема",
    "code": "dialer_problems",
    "elements": [
        {"name": name, "code": code, "ordering": 10 * (i + 1)}
        for i, (name, code) in enumerate((
            ("Не отвечает", "no-answer"), ("Нужно перезвонить", "call-back"),
            ("Передумал", "changed-mind"), ("Не устроила цена", "price"),
            ("Не устроила доставка", "delivery"), ("Купил в другом месте", "bought-elsewhere"),
            ("Нет в наличии", "out-of-stock"), ("Снято с производства", "discontinued"),
            ("Другое", "other"),
            ("Невалидный номер", "bad-number"), ("Спам", "spam"), ("Дубль", "duplicate"),
            ("Обратная связь", "feedback"),
        ))
    ],
}  # fmt: skip

# api-client-php tests/src/ResourceGroup/ErrorTest.php, testHtmlAccountDoesntExistHandling
ACCOUNT_MISSING_HTML = (
    b"<html>\n<head>\n\t<title>405 Not Allowed</title>\n</head>\n<body>\n\t<center>\n"
    b"\t\t<h1>405 Not Allowed</h1>\n\t</center>\n\t<hr>\n\t<center>nginx/1.18.0</center>\n"
    b"</body>\n</html>\n"
)


def history_entry(
    ident: int, order: dict[str, Any], field: str, old: Any, new: Any, *, created: bool,
    own: bool, source: str,
) -> dict[str, Any]:  # fmt: skip
    """One ``history[]`` entry of ``GET /api/v5/orders/history`` (``OrdersTest.php``
    ``testHistory``): a created order carries the whole order, a change its ids."""
    brief = {k: order[k] for k in ("id", "externalId", "number", "site", "status") if k in order}
    entry: dict[str, Any] = {
        "id": ident, "createdAt": "2026-03-10 09:00:00", "source": source, "field": field,
        "apiKey": {"current": own}, "oldValue": old, "newValue": new,
        "order": dict(order) if created else brief,
    }  # fmt: skip
    if created:
        entry["created"] = True
    if not own and source == "user":
        entry["user"] = {"id": 23}
    return entry
