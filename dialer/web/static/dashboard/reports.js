// Reports (issue 19) on the dashboard: «Отчёты» — a range of days, a campaign and an agent, charts
// drawn by hand in SVG (calls per day stacked by result, calls per hour, speed to lead), the agents'
// table and CSV/XLSX links. Reads GET /api/v1/reports through dashboard.js's api() (the session).
"use strict";
(() => {
  const NS = "http://www.w3.org/2000/svg";
  const RESULTS = [
    ["answered", "Дозвон", "#2a8a2a"], ["no_answer", "Не отвечает", "#e0a020"], ["busy", "Занято", "#d06020"],
    ["congestion", "Перегрузка", "#a050c0"], ["invalid_number", "Невалидный номер", "#b02020"],
    ["agent_missed", "Оператор не принял", "#5080c0"], ["failed", "Сбой", "#707070"], ["live", "Идёт", "#20a0a0"],
  ];
  const el = (id) => document.getElementById(id);
  const pct = (v) => (v === null || v === undefined ? "—" : `${Math.round(v * 1000) / 10}%`);
  const num = (v) => (v === null || v === undefined ? "—" : String(Math.round(v * 100) / 100));
  const hms = (s) => {
    if (s === null || s === undefined) return "—";
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.round(s % 60);
    return h ? `${h} ч ${m} мин` : m ? `${m} мин ${sec} с` : `${sec} с`;
  };
  const isoDay = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;

  function svg(width, height, label) {
    const root = document.createElementNS(NS, "svg");
    root.setAttribute("width", width); root.setAttribute("height", height);
    root.setAttribute("viewBox", `0 0 ${width} ${height}`);
    root.setAttribute("role", "img"); root.setAttribute("aria-label", label);
    return root;
  }
  function add(parent, tag, attrs, text) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    parent.append(node);
    return node;
  }

  // Stacked bars: one column per item (label, {result: n}); each result a rect with a <title>.
  function stacked(items, label, tick) {
    const bw = Math.max(6, Math.min(28, Math.floor(760 / Math.max(1, items.length)) - 4));
    const W = 40 + items.length * (bw + 4), H = 200, base = H - 22;
    const max = Math.max(1, ...items.map(([, r]) => Object.values(r).reduce((a, b) => a + b, 0)));
    const scale = (H - 40) / max;
    const root = svg(W, H, label);
    add(root, "line", { x1: 34, y1: base, x2: W, y2: base, stroke: "#999" });
    add(root, "text", { x: 0, y: 20, "font-size": 11 }, String(max));
    items.forEach(([name, results], i) => {
      const x = 38 + i * (bw + 4);
      if (tick(i)) add(root, "text", { x, y: H - 6, "font-size": 10 }, name);
      let y = base;
      for (const [key, title, color] of RESULTS) {
        const n = results[key] || 0;
        if (!n) continue;
        y -= n * scale;
        const bar = add(root, "rect", { x, y, width: bw, height: n * scale, fill: color, "data-result": key, "data-count": n });
        add(bar, "title", {}, `${name} — ${title}: ${n}`);
      }
    });
    return root;
  }

  function speedChart(speed) {
    const root = svg(420, 90, "Скорость первого звонка");
    const rows = [["Медиана", speed.p50_s], ["95%", speed.p95_s]];
    const max = Math.max(1, ...rows.map(([, v]) => v || 0));
    rows.forEach(([name, v], i) => {
      const y = 10 + i * 34;
      add(root, "text", { x: 0, y: y + 16, "font-size": 12 }, name);
      const bar = add(root, "rect", { x: 70, y, width: v ? Math.max(2, (v / max) * 260) : 0, height: 22, fill: "#4070b0", "data-seconds": v ?? "" });
      add(bar, "title", {}, `${name}: ${hms(v)}`);
      add(root, "text", { x: 76 + (v ? (v / max) * 260 : 0), y: y + 16, "font-size": 12 }, hms(v));
    });
    return root;
  }

  function legend() {
    return RESULTS.filter(([k]) => k !== "live").map(([, title, color]) => {
      const span = document.createElement("span");
      const i = document.createElement("i");
      i.style.background = color;
      span.append(i, title);
      return span;
    });
  }

  function query(format) {
    const q = new URLSearchParams({ from: el("report-from").value, to: el("report-to").value });
    if (el("report-campaign").value) q.set("campaign", el("report-campaign").value);
    if (el("report-agent").value) q.set("agent", el("report-agent").value);
    if (format) q.set("format", format);
    return q.toString();
  }

  function options(select, values, all) {
    const keep = select.value;
    select.replaceChildren(new Option(all, ""), ...values.map((v) => new Option(v, v)));
    select.value = values.includes(keep) ? keep : "";
  }

  function render(r) {
    const t = r.totals, s = r.speed_to_lead;
    const rows = [
      ["Звонков", t.calls], ["Набрано клиентов", t.dialled], ["Дозвонов", t.answered],
      ["Доля дозвона", pct(t.contact_rate)], ["Подтверждено", t.confirmed],
      ["Доля подтверждённых", pct(t.confirmed_share)], ["Наборов на подтверждённый заказ", num(t.dials_per_confirmed)],
      ["Новых заказов", s.orders], ["Из них уже набраны", s.dialled],
    ];
    fill(el("report-totals"), rows);
    el("report-days").replaceChildren(stacked(r.calls_by_day.map((d) => [d.day.slice(5), d.results]),
      "Звонки по дням", (i) => r.calls_by_day.length <= 16 || i % Math.ceil(r.calls_by_day.length / 16) === 0));
    el("report-hours").replaceChildren(stacked(r.calls_by_hour.map((h) => [String(h.hour).padStart(2, "0"), h.results]),
      "Звонки по часам", (i) => i % 2 === 0));
    el("report-speed").replaceChildren(speedChart(s));
    el("report-legend").replaceChildren(...legend());
    fill(el("report-agents"), r.agents.map((a) => [
      a.agent, a.calls, a.answered, a.missed, hms(a.talk_s), hms(a.wrap_s), hms(a.pause_s), hms(a.signed_in_s), pct(a.occupancy),
    ]));
    options(el("report-agent"), r.agent_ids || [], "все операторы");
    el("report-csv").href = `/api/v1/reports?${query("csv")}`;
    el("report-xlsx").href = `/api/v1/reports?${query("xlsx")}`;
    el("report-period").textContent = `${r.from} — ${r.to} (${r.zone})`;
  }

  async function load() {
    el("report-error").textContent = "";
    try {
      render(await api(`/reports?${query()}`));
    } catch (err) {
      el("report-error").textContent = err.field ? `Неверное поле «${err.field}»: ${err.message}` : `Не удалось: ${err.message}`;
    }
  }

  function init() {
    const today = new Date(), week = new Date(today.getTime() - 6 * 86400000);
    el("report-from").value = isoDay(week);
    el("report-to").value = isoDay(today);
    el("report-show").addEventListener("click", load);
    el("report-campaign").addEventListener("change", () => {
      el("report-campaign").dataset.touched = "1";
    });
    const shown = () => {
      const name = el("campaign-name").textContent;
      if (name && name !== "…" && !el("report-campaign").dataset.touched) options(el("report-campaign"), [name], "все кампании");
      if (!el("board").hidden && !el("report-panel-loaded")) {
        const mark = document.createElement("span");
        mark.id = "report-panel-loaded"; mark.hidden = true;
        el("reports-panel").append(mark);
        load();
      }
    };
    new MutationObserver(shown).observe(el("board"), { attributes: true, attributeFilter: ["hidden"] });
    new MutationObserver(shown).observe(el("campaign-name"), { childList: true });
    shown();
  }
  window.reports = { load };
  init();
})();
