"""A report (``campaigns.reports.Report``) as JSON and as titled tables for CSV and XLSX.

Column titles are in Russian, in the manuals' words; durations are whole seconds, shares
are fractions rounded to 4 places (empty when their denominator is zero).
"""

from __future__ import annotations

from typing import Any

from campaigns.reports import AgentFigures, Report

Cell = str | int | float | None
RESULTS = ("answered", "no_answer", "busy", "congestion", "invalid_number", "agent_missed",
           "failed", "live")  # fmt: skip
RESULT_TITLES = ("Дозвон", "Не отвечает", "Занято", "Перегрузка", "Невалидный номер",
                 "Оператор не принял", "Сбой", "Идёт")  # fmt: skip
AGENT_TITLES = ("Оператор", "Звонков", "Дозвонов", "Не принял", "Разговор, с",
                "Обработка, с", "Пауза, с", "В системе, с", "Занятость")  # fmt: skip


def as_json(report: Report) -> dict[str, Any]:
    span, speed = report.range, report.speed
    return {
        "from": span.first.isoformat(),
        "to": span.last.isoformat(),
        "zone": span.zone,
        "totals": {
            "calls": report.calls,
            "dialled": report.dialled,
            "answered": report.answered,
            "confirmed": report.confirmed,
            "final_outcomes": report.final,
            "contact_rate": _share(report.contact_rate),
            "confirmed_share": _share(report.confirmed_share),
            "dials_per_confirmed": _share(report.dials_per_confirmed),
        },
        "speed_to_lead": {
            "orders": speed.orders,
            "dialled": speed.dialled,
            "p50_s": _seconds(speed.p50_s),
            "p95_s": _seconds(speed.p95_s),
        },
        "calls_by_day": [
            {"day": day.isoformat(), "results": dict(c)} for day, c in report.calls_by_day.items()
        ],
        "calls_by_hour": [{"hour": h, "results": dict(c)} for h, c in report.calls_by_hour.items()],
        "outcomes_by_day": [
            {"day": day.isoformat(), "outcomes": dict(c)}
            for day, c in report.outcomes_by_day.items()
        ],
        "agents": [_agent_json(f) for f in report.agents],
    }


def tables(report: Report) -> list[tuple[str, list[list[Cell]]]]:
    """(title, rows with the header first) for each table of the report."""
    j = as_json(report)
    totals, speed = j["totals"], j["speed_to_lead"]
    summary: list[list[Cell]] = [
        ["Показатель", "Значение"],
        ["Период", f"{j['from']} — {j['to']} ({j['zone']})"],
        ["Звонков", totals["calls"]],
        ["Набрано клиентов", totals["dialled"]],
        ["Дозвонов", totals["answered"]],
        ["Доля дозвона", totals["contact_rate"]],
        ["Подтверждено", totals["confirmed"]],
        ["Доля подтверждённых", totals["confirmed_share"]],
        ["Наборов на подтверждённый заказ", totals["dials_per_confirmed"]],
        ["Новых заказов", speed["orders"]],
        ["Первый звонок: медиана, с", speed["p50_s"]],
        ["Первый звонок: 95%, с", speed["p95_s"]],
    ]
    days: list[list[Cell]] = [["День", *RESULT_TITLES]]
    days += [[d["day"], *(d["results"].get(r, 0) for r in RESULTS)] for d in j["calls_by_day"]]
    hours: list[list[Cell]] = [["Час", *RESULT_TITLES]]
    hours += [[f"{h['hour']:02d}:00", *(h["results"].get(r, 0) for r in RESULTS)]
              for h in j["calls_by_hour"]]  # fmt: skip
    agents: list[list[Cell]] = [list(AGENT_TITLES)]
    agents += [[a["agent"], a["calls"], a["answered"], a["missed"], a["talk_s"], a["wrap_s"],
                a["pause_s"], a["signed_in_s"], a["occupancy"]] for a in j["agents"]]  # fmt: skip
    return [("Итоги", summary), ("По дням", days), ("По часам", hours), ("Операторы", agents)]


def _agent_json(f: AgentFigures) -> dict[str, Any]:
    return {
        "agent": f.agent, "calls": f.calls, "answered": f.answered, "missed": f.missed,
        "talk_s": round(f.talk_s), "wrap_s": round(f.wrap_s), "pause_s": round(f.pause_s),
        "signed_in_s": round(f.signed_in_s), "occupancy": _share(f.occupancy),
    }  # fmt: skip


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _seconds(value: float | None) -> int | None:
    return None if value is None else round(value)
