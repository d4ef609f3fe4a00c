"""The planner's table as a self-contained HTML page with an inline SVG chart.

No scripts, fonts or styles from elsewhere: the page opens from a mail attachment or a
file share. The chart shows the p95 first-call delay of all measured orders and of those
that arrived in the window (left axis, minutes) and occupancy (right axis, %) against
agents, each p95 / occupancy target as a dashed line and the answer as a vertical line.
Every text from outside (targets, profile) is escaped.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from dialer.sim.plan import Plan, PlanRow
from dialer.sim.plan_report import HEADERS, cells, duration_text, verdict_text

W, H = 760, 340
LEFT, RIGHT, TOP, BOTTOM = 70, 70, 30, 50
P95 = 95
CLIP = 5  # the delay axis stops at this many times the delay target
_STYLE = """body{font-family:sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:4px 10px;text-align:right;
white-space:nowrap}
tr.answer{background:#e6f4e6;font-weight:bold}td.no{color:#a00}
.p95{stroke:#1f5fbf;fill:none;stroke-width:2}.win{stroke:#7a3fb0;fill:none;stroke-width:2}
circle.p95{fill:#1f5fbf}circle.win{fill:#7a3fb0}circle.off{fill:#fff}.occ{stroke:#d9822b;fill:none;stroke-width:2}
.tgt{stroke:#c00;stroke-dasharray:6 4}.ans{stroke:#2a8a2a;stroke-dasharray:2 3}
text{font-size:12px}"""


def render(plan: Plan, title: str, details: list[str]) -> str:
    """The whole page: ``title``, ``details`` lines (the profile), the chart and the table."""
    items = "".join(f"<li>{escape(d)}</li>" for d in details)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1><ul>{items}</ul>"
        f"<p><strong>{escape(verdict_text(plan))}</strong></p>"
        f"{_chart(plan)}{_table(plan)}</body></html>\n"
    )


def _table(plan: Plan) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in HEADERS)
    body = []
    for row in plan.rows:
        cls = ' class="answer"' if row.agents == plan.answer else ""
        tds = "".join(f"<td>{escape(c)}</td>" for c in cells(plan, row)[:-1])
        met = plan.meets(row)
        tds += f"<td{'' if met else ' class=no'}>{'met' if met else 'not met'}</td>"
        body.append(f"<tr{cls}>{tds}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _chart(plan: Plan) -> str:
    rows = plan.rows
    p95 = [t for t in plan.targets if t.percentile == P95]
    series = [
        ("p95", "p95", [(r, r.percentile(P95)) for r in rows]),
        ("win", "in-window p95", [(r, r.percentile(P95, in_window=True)) for r in rows]),
    ]
    top = _delay_top([d for _, _, s in series for _, d in s], [t.value for t in p95])
    lo, hi = rows[0].agents, rows[-1].agents

    def x(agents: int) -> float:
        return LEFT + (agents - lo) / max(1, hi - lo) * (W - LEFT - RIGHT)

    def y(share: float) -> float:  # share of the axis height, 0 at the bottom
        return TOP + (1 - min(share, 1.0)) * (H - TOP - BOTTOM)

    parts = [_axes(x, y, rows, top)]
    parts += [_hline(y(t.value / top), f"target {t.text}") for t in p95]
    parts += [
        _hline(y(t.value), f"target {t.text}", left=True)
        for t in plan.targets
        if t.metric == "occupancy"
    ]
    parts.append(_line("occ", [(x(r.agents), y(r.occupancy)) for r in rows]))
    for cls, name, points in series:
        known = [(r, d) for r, d in points if d is not None]
        parts.append(_line(cls, [(x(r.agents), y(d / top)) for r, d in known]))
        parts += [_point(cls, x(r.agents), y(d / top), f"{r.agents} agents: {name} "
                         f"{duration_text(d)}", d > top) for r, d in known]  # fmt: skip
    if plan.answer is not None:
        parts.append(
            f'<line class="ans" x1="{x(plan.answer):.1f}" y1="{TOP}" '
            f'x2="{x(plan.answer):.1f}" y2="{H - BOTTOM}"><title>answer</title></line>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" role="img" aria-label="p95 first-call delay and occupancy '
        f'against agents">{"".join(parts)}{_legend()}</svg>'
    )


def _delay_top(values: list[float | None], limits: list[float]) -> float:
    """The delay axis's top in seconds: the largest p95, at most ``CLIP`` x the target."""
    measured = [v for v in values if v is not None] or [60.0]
    top = max([*measured, *limits, 60.0])
    if limits:
        top = min(top, CLIP * max(limits))
    return top * 1.05


def _axes(
    fx: Callable[[int], float], fy: Callable[[float], float], rows: tuple[PlanRow, ...], top: float
) -> str:
    out = [
        f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}" stroke="#444"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{H - BOTTOM}" stroke="#444"/>',
        f'<line x1="{W - RIGHT}" y1="{TOP}" x2="{W - RIGHT}" y2="{H - BOTTOM}" stroke="#444"/>',
    ]
    for r in rows:
        out.append(f'<text x="{fx(r.agents):.1f}" y="{H - BOTTOM + 16}" '
                   f'text-anchor="middle">{r.agents}</text>')  # fmt: skip
    for i in range(5):
        share = i / 4
        out.append(f'<text x="{LEFT - 6}" y="{fy(share) + 4:.1f}" text-anchor="end">'
                   f"{top * share / 60:.1f}</text>")  # fmt: skip
        out.append(f'<text x="{W - RIGHT + 6}" y="{fy(share) + 4:.1f}">{share * 100:.0f}%</text>')
    out.append(f'<text x="{W / 2}" y="{H - 12}" text-anchor="middle">agents</text>')
    out.append(f'<text x="{LEFT}" y="{TOP - 12}" text-anchor="middle">p95, min</text>')
    out.append(f'<text x="{W - RIGHT}" y="{TOP - 12}" text-anchor="middle">occupancy</text>')
    return "".join(out)


def _hline(at: float, label: str, *, left: bool = False) -> str:
    """A target line, labelled at the right end (delay targets) or the left (occupancy)."""
    place = f'x="{LEFT + 4}"' if left else f'x="{W - RIGHT - 4}" text-anchor="end"'
    return (
        f'<line class="tgt" x1="{LEFT}" y1="{at:.1f}" x2="{W - RIGHT}" y2="{at:.1f}"/>'
        f'<text {place} y="{at - 4:.1f}" fill="#c00">'
        f"{escape(label)}</text>"
    )


def _line(cls: str, points: list[tuple[float, float]]) -> str:
    coords = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
    return f'<polyline class="{cls}" points="{coords}"/>'


def _point(cls: str, px: float, py: float, label: str, off_scale: bool) -> str:
    """A hollow point with its value written beside it when it is above the axis's top."""
    point = (
        f'<circle class="{cls}{" off" if off_scale else ""}" cx="{px:.1f}" cy="{py:.1f}" '
        f'r="3.5"><title>{escape(label)}</title></circle>'
    )
    if not off_scale:
        return point
    value = escape(label.rpartition(": ")[2].partition(" ")[2])
    edge = px > W - RIGHT - 60  # the last point's label goes below-left, clear of its neighbour
    place = f'x="{px - 6:.1f}" text-anchor="end"' if edge else f'x="{px + 6:.1f}"'
    return f'{point}<text {place} y="{py + (28 if edge else 14):.1f}">&#8593; {value}</text>'


def _legend() -> str:
    return (
        f'<line class="p95" x1="{LEFT + 70}" y1="{TOP - 16}" x2="{LEFT + 100}" y2="{TOP - 16}"/>'
        f'<text x="{LEFT + 106}" y="{TOP - 12}">first-call p95</text>'
        f'<line class="occ" x1="{LEFT + 260}" y1="{TOP - 16}" x2="{LEFT + 290}" '
        f'y2="{TOP - 16}"/><text x="{LEFT + 296}" y="{TOP - 12}">occupancy</text>'
        f'<line class="win" x1="{LEFT + 390}" y1="{TOP - 16}" x2="{LEFT + 420}" '
        f'y2="{TOP - 16}"/><text x="{LEFT + 426}" y="{TOP - 12}">in-window p95</text>'
    )
