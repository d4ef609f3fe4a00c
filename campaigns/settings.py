"""Campaign settings: every rule's number, with the manuals' values as defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time

from campaigns.wording import REFUSAL_PROBLEMS

NEVER_TOUCH_STATUSES: tuple[str, ...] = (
    "Отменён",
    "Почтовый возврат",
    "ВОЗВРАТ",
    "Клиентский возврат",
    "Корзина",
    "Отменён через WebUtils",
    "Запрос на аннуляцию",
    "Обрыв связи Выгружено",
    "Экспортирована есть ШПИ",
)
CRM_CONFIRMED_STATUSES: tuple[str, ...] = ("Подтвержден", "В буфер")  # 1C (003), 001's button
CRM_REFUSED_STATUSES: tuple[str, ...] = ("Отказ", "Отменён", "Отменен")  # 001's button, 003
DISPOSITION_SOURCES = ("agent", "crm", "both")
MAX_DUPLICATE_WINDOW_DAYS = 366  # a year of look-back; more is a typo
PRIORITIES = range(1, 10)  # a campaign's priority: 1 is offered first, 9 last


@dataclass(frozen=True, slots=True)
class CallingWindow:
    """Local-time hours when a customer may be called (business-rules §4).

    ``weekdays`` uses Monday = 0. ``holidays`` are local calendar dates with no calls.
    """

    start: time = time(10, 0)
    end: time = time(19, 0)
    weekdays: frozenset[int] = frozenset(range(7))
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise ValueError(f"window start {self.start} must be before end {self.end}")
        if not self.weekdays or not self.weekdays <= frozenset(range(7)):
            raise ValueError("window weekdays must be a non-empty subset of 0..6")


@dataclass(frozen=True, slots=True)
class RetrySettings:
    """Retry ladder of business-rules §5; all durations in seconds."""

    quick_retries: int = 3
    quick_retry_min_s: int = 120
    quick_retry_max_s: int = 180
    slow_retry_s: int = 3600
    calling_days: int = 3
    final_min_calls_per_day: int = 3
    final_span_hours: float = 5.0
    max_extra_days: int = 7
    network_retry_s: int = 60
    trunk_pause_after: int = 5
    trunk_pause_s: int = 300

    def __post_init__(self) -> None:
        if not 0 <= self.quick_retry_min_s <= self.quick_retry_max_s:
            raise ValueError("quick_retry_min_s must be between 0 and quick_retry_max_s")
        if self.calling_days < 1 or self.slow_retry_s <= 0 or self.network_retry_s <= 0:
            raise ValueError("calling_days, slow_retry_s and network_retry_s must be positive")


@dataclass(frozen=True, slots=True)
class CampaignSettings:
    """One campaign: which orders, when, how often, with which agents."""

    name: str = "default"
    intake_statuses: tuple[str, ...] = ("Ожидает подтверждения",)
    intake_states: tuple[str, ...] = ("Новый",)
    excluded_sources: tuple[str, ...] = ("Kaspi",)
    never_touch_statuses: tuple[str, ...] = NEVER_TOUCH_STATUSES
    skip_prepaid: bool = True
    countries: tuple[str, ...] = ("RU", "KZ")
    foreign_numbers: str = "flag"  # "flag" (Консультация, not dialled) or "dial"
    default_tz: str = "Europe/Moscow"
    window: CallingWindow = field(default_factory=CallingWindow)
    retry: RetrySettings = field(default_factory=RetrySettings)
    ring_timeout_s: int = 30
    agent_accept_timeout_s: int = 10
    talk_time_s: int = 90
    wrap_up_s: int = 10
    wrap_up_max_s: int = 180  # an answered call longer without its result: «нет результата»
    callback_owner_grace_s: int = 120  # an owned callback waits this long for its agent
    agent_miss_pause_after: int = 3
    # the reasons an agent picks on the /agent page; the dialer's own pauses are other words
    pause_reasons: tuple[str, ...] = ("обед", "перерыв", "обучение", "техническая пауза")
    language: str = "ru"
    agent_channel_template: str = "PJSIP/{agent}"
    customer_channel_template: str = "PJSIP/{number}@trunk"
    spam_words: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    duplicate_window_days: int = 7  # handled orders looked back on for duplicates; 0 = open only
    refusal_problems: tuple[str, ...] = REFUSAL_PROBLEMS  # «Отказ»: the agent picks one
    # who gives an answered call its result (issue 15 §3; campaigns/crm_results.py):
    disposition_source: str = "agent"  # "agent", "crm" (followed in the CRM) or "both"
    crm_result_timeout_s: int = 600  # no CRM result this long after the call: «нет результата»
    crm_result_read_s: int = 15  # first CRM read after the call; then 30, 60, 120 s apart
    crm_confirmed_statuses: tuple[str, ...] = CRM_CONFIRMED_STATUSES
    crm_refused_statuses: tuple[str, ...] = CRM_REFUSED_STATUSES
    # several campaigns in one service (docs/campaigns.md): the order in which campaigns
    # offer their due orders to shared agents (1 first), and this campaign's cap on
    # simultaneous calls on a server (None: the service's campaign_lines)
    priority: int = 5
    lines: int | None = None

    def __post_init__(self) -> None:
        if self.priority not in PRIORITIES:
            raise ValueError(f"priority must be 1 to 9 (1 is offered first), got {self.priority}")
        if self.lines is not None and self.lines < 1:
            raise ValueError(f"lines must be at least 1 (or unset), got {self.lines}")
        if not self.intake_statuses:
            raise ValueError("intake_statuses: at least one status, or no order is ever taken")
        if not self.pause_reasons or any(not r.strip() for r in self.pause_reasons):
            raise ValueError("pause_reasons: at least one reason, none of them blank")
        if self.callback_owner_grace_s < 0:
            raise ValueError(
                f"callback_owner_grace_s must be 0 or more, got {self.callback_owner_grace_s}"
            )
        if self.wrap_up_max_s < max(1, self.wrap_up_s):
            raise ValueError(
                f"wrap_up_max_s must be at least wrap_up_s ({self.wrap_up_s}) and 1, "
                f"got {self.wrap_up_max_s}"
            )
        self._check_crm_results()
        if not 0 <= self.duplicate_window_days <= MAX_DUPLICATE_WINDOW_DAYS:
            raise ValueError(
                f"duplicate_window_days must be 0 to {MAX_DUPLICATE_WINDOW_DAYS} "
                f"(0 = open orders only), got {self.duplicate_window_days}"
            )

    def _check_crm_results(self) -> None:
        if self.disposition_source not in DISPOSITION_SOURCES:
            raise ValueError(
                f"disposition_source must be one of {', '.join(DISPOSITION_SOURCES)}, "
                f"got {self.disposition_source!r}"
            )
        if not 1 <= self.crm_result_read_s <= self.crm_result_timeout_s:
            raise ValueError(
                f"crm_result_read_s must be 1 to crm_result_timeout_s "
                f"({self.crm_result_timeout_s}), got {self.crm_result_read_s}"
            )
        both = set(self.crm_confirmed_statuses) & set(self.crm_refused_statuses)
        waiting = set(self.intake_statuses) & (
            set(self.crm_confirmed_statuses) | set(self.crm_refused_statuses)
        )
        if both or waiting:
            raise ValueError(
                f"crm_confirmed_statuses and crm_refused_statuses must not share a status "
                f"with each other or with intake_statuses: {sorted(both | waiting)[0]!r}"
            )
