"""The planner's table as text and as JSON: one row per agent count, the same cells in both."""

from __future__ import annotations

from typing import Any

from dialer.sim.plan import Plan, PlanRow, Target

MINUTE, HOUR = 60, 3600
HEADERS = ("agents", "first call p50", "p95", "in-window p95", "waiting", "contact",
           "confirmed", "occupancy", "dials/confirmed", "targets")  # fmt: skip


def duration_text(seconds: float | None) -> str:
    """``45 s``, ``4.2 min``, ``3.5 h``; a dash when nothing was measured."""
    if seconds is None:
        return "-"
    if seconds < MINUTE:
        return f"{seconds:.0f} s"
    if seconds < HOUR:
        return f"{seconds / MINUTE:.1f} min"
    return f"{seconds / HOUR:.1f} h"


def share_text(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.1f} %"


def measured_text(target: Target, row: PlanRow) -> str:
    """What ``row`` measures for ``target``, as the table writes it."""
    got = target.measure(row)
    return duration_text(got) if target.percentile is not None else share_text(got)


def cells(plan: Plan, row: PlanRow) -> tuple[str, ...]:
    """The table's cells for one row, in ``HEADERS`` order."""
    return (
        str(row.agents),
        duration_text(row.percentile(50)),
        duration_text(row.percentile(95)),
        duration_text(row.percentile(95, in_window=True)),
        str(row.waiting),
        share_text(row.contact),
        share_text(row.confirmed),
        share_text(row.occupancy),
        "-" if row.dials_per_confirmed is None else f"{row.dials_per_confirmed:.2f}",
        "met" if plan.meets(row) else "not met",
    )


def agents_text(n: int) -> str:
    return f"{n} agent" if n == 1 else f"{n} agents"


def verdict_text(plan: Plan) -> str:
    targets = ", ".join(t.text for t in plan.targets)
    if plan.answer is not None:
        return f"{agents_text(plan.answer)} is the smallest count that meets {targets}."
    return (
        f"NO agent count up to --agents-max {plan.agents_max} meets {targets}; "
        "raise --agents-max or relax the target."
    )


def table_text(plan: Plan, heading: str) -> str:
    rows = [HEADERS, *(cells(plan, r) for r in plan.rows)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    last = len(HEADERS) - 1
    lines = [
        "  ".join(
            c.ljust(w) if i == last else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    return "\n".join([heading, "", *(line.rstrip() for line in lines), "", verdict_text(plan)])


def plan_json(plan: Plan, profile: dict[str, Any]) -> dict[str, Any]:
    return {
        "profile": profile,
        "targets": [t.text for t in plan.targets],
        "agents_max": plan.agents_max,
        "answer": plan.answer,
        "rows": [
            {
                "agents": r.agents,
                "first_call_p50_s": r.percentile(50),
                "first_call_p95_s": r.percentile(95),
                "in_window_p95_s": r.percentile(95, in_window=True),
                "measured": len(r.delays),
                "arrived_in_window": len(r.in_window),
                "waiting": r.waiting,
                "contact_rate": _rounded(r.contact),
                "confirmed_share": _rounded(r.confirmed),
                "occupancy": r.occupancy,
                "dials_per_confirmed": r.dials_per_confirmed,
                "targets_met": plan.meets(r),
            }
            for r in plan.rows
        ],
    }


def _rounded(share: float | None) -> float | None:
    return None if share is None else round(share, 4)
