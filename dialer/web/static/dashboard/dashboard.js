// The ops dashboard (index.html): a supervisor signs in (cookie session, CSRF token kept in
// memory only), then the live state is pushed on GET /api/v1/events (Server-Sent Events,
// event `live`); only while that stream is down does it poll /api/v1 every 2 s, and it
// reconnects. supervise.js adds listen/whisper/barge.
"use strict";
const API = "/api/v1";
const POLL_MS = 2000;
const RESULTS = {
  answered: ["Дозвон", "#2a8a2a"], no_answer: ["Не отвечает", "#e0a020"], busy: ["Занято", "#d06020"],
  congestion: ["Перегрузка", "#a050c0"], invalid_number: ["Невалидный номер", "#b02020"],
  agent_missed: ["Оператор не принял", "#5080c0"], failed: ["Сбой", "#707070"], live: ["Идёт", "#20a0a0"],
};
const OUTCOMES = {
  confirmed: "Подтверждён", callback: "Перезвонить", refused: "Отказ", no_answer: "Недозвон",
  no_answer_final: "Недозвон (окончательно)", invalid: "Невалид", spam: "Спам", duplicate: "Дубль",
  consult: "Консультация", skipped: "Пропущен",
};
const RECONNECT_MS = 2000;
let timer = null;  // the next poll: set only while the stream is down
let stream = null;  // the EventSource on /api/v1/events
let streaming = false;  // true from the stream's open until its error
let polling = false;  // a poll is under way
let csrf = null;  // the session's CSRF token: sent on every POST, never stored

const $ = (id) => document.getElementById(id);

function cell(text) { const td = document.createElement("td"); td.textContent = text ?? ""; return td; }
function fill(tbody, rows) {
  tbody.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement("tr");
    tr.append(...cells.map(cell));
    return tr;
  }));
}
function clock(iso) { return iso ? new Date(iso).toLocaleTimeString("ru-RU") : ""; }
function since(iso) {
  if (!iso) return "";
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

class Unauthorized extends Error {}

async function api(path, method = "GET", body = undefined, base = API) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrf !== null) headers["X-CSRF-Token"] = csrf;
  const answer = await fetch(base + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store",
    credentials: "same-origin",
  });
  const data = await answer.json().catch(() => ({}));
  if (answer.status === 401) throw new Unauthorized(data.error || "нужно войти");
  if (!answer.ok) {
    const err = new Error(data.error || `HTTP ${answer.status}`);
    err.status = answer.status; err.field = data.field;
    throw err;
  }
  return data;
}

function showLogin(message) {
  if (timer !== null) { clearTimeout(timer); timer = null; }
  closeStream();
  csrf = null;
  $("board").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  $("login-name").focus();
}

function renderCampaign(c) {
  $("campaign-name").textContent = c.name;
  const state = $("campaign-state");
  state.textContent = c.paused ? `пауза (${c.paused_reason || "без причины"})` : "идёт обзвон";
  state.className = c.paused ? "paused" : "running";
  state.dataset.paused = String(c.paused);
  $("pause").disabled = c.paused;
  $("resume").disabled = !c.paused;
}

function renderChart(byHour) {
  const hours = Object.keys(byHour).sort();
  const results = Object.keys(RESULTS);
  const max = Math.max(1, ...hours.map((h) => Object.values(byHour[h]).reduce((a, b) => a + b, 0)));
  const W = 24 * 28 + 40, H = 180, base = H - 20, scale = (H - 40) / max;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", W); svg.setAttribute("height", H); svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "Звонки по часам");
  const add = (tag, attrs, text) => {
    const el = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    if (text !== undefined) el.textContent = text;
    svg.append(el);
    return el;
  };
  add("line", { x1: 30, y1: base, x2: W, y2: base, stroke: "#999" });
  add("text", { x: 0, y: 20, "font-size": 11 }, String(max));
  for (let h = 0; h < 24; h++) {
    const key = String(h).padStart(2, "0");
    const x = 34 + h * 28;
    if (h % 2 === 0) add("text", { x, y: H - 4, "font-size": 10 }, key);
    let y = base;
    for (const r of results) {
      const n = (byHour[key] || {})[r] || 0;
      if (!n) continue;
      const height = n * scale;
      y -= height;
      const bar = add("rect", { x, y, width: 22, height, fill: RESULTS[r][1] });
      const title = document.createElementNS(ns, "title");
      title.textContent = `${key}:00 — ${RESULTS[r][0]}: ${n}`;
      bar.append(title);
    }
  }
  $("chart").replaceChildren(svg);
  $("legend").replaceChildren(...results.map((r) => {
    const span = document.createElement("span");
    const i = document.createElement("i");
    i.style.background = RESULTS[r][1];
    span.append(i, RESULTS[r][0]);
    return span;
  }));
}

function render([campaign, agents, live, queue, stats, awaiting], how = "опрос") {
  renderCampaign(campaign);
  $("awaiting-count").textContent = awaiting.calls.length;
  $("overdue-count").textContent = awaiting.overdue;
  fill($("awaiting"), awaiting.calls.map((c) => [
    c.order_id, c.name, c.agent, since(c.call_ended_at),
    c.overdue ? `нет результата: ${c.reason}` : "ждёт результата",
  ]));
  $("calls-count").textContent = live.calls.length;
  fill($("calls"), live.calls.map((c) => [
    c.order_id, c.name, c.product, c.agent, c.e164, since(c.started_at),
    c.answered_at ? "разговор" : "вызов",
  ]));
  if (window.supervise) window.supervise.rows($("calls"), live.calls);  // supervise.js
  fill($("agents"), agents.agents.map((a) => [
    a.name && a.name !== a.id ? `${a.id} ${a.name}` : a.id, a.state_ru || a.state, clock(a.since),
    a.paused_reason || "",
  ]));
  $("queue-total").textContent = queue.total;
  fill($("tabs"), queue.tabs.map((t) => [t.title, t.count]));
  $("today-calls").textContent = stats.calls;
  fill($("today"), Object.entries(stats.calls_by_result).map(([r, n]) => [(RESULTS[r] || [r])[0], n]));
  fill($("outcomes"), Object.entries(stats.outcomes_by_kind).map(([k, n]) => [OUTCOMES[k] || k, n]));
  renderChart(stats.calls_by_hour_result || {});
  $("updated").textContent = new Date().toLocaleTimeString("ru-RU");
  const state = $("stream-state");
  state.textContent = how === "поток" ? "онлайн" : "опрос каждые 2 с";
  state.className = how === "поток" ? "live" : "muted";
  $("poll-error").textContent = "";
}

// The push channel: each `live` event carries the bodies of the routes poll() reads.
function closeStream() {
  streaming = false;
  if (stream !== null) { stream.close(); stream = null; }
}

function listen() {
  closeStream();
  if (csrf === null) return;
  const source = new EventSource(API + "/events");
  stream = source;
  source.addEventListener("open", () => { streaming = true; stopPolling(); });
  source.addEventListener("live", (event) => {
    streaming = true; stopPolling();
    const s = JSON.parse(event.data);
    render([s.campaign, s.agents, s.calls, s.queue, s.stats, s.awaiting], "поток");
  });
  source.addEventListener("bye", () => {  // the session ended (signed out, expired)
    closeStream();
    showLogin("Сеанс закончился: войдите снова");
  });
  source.addEventListener("error", () => {
    streaming = false;
    if (source.readyState === EventSource.CLOSED && stream === source) {
      stream = null;  // refused (e.g. 401, 503): the browser gives up, so we retry
      setTimeout(() => { if (stream === null && csrf !== null) listen(); }, RECONNECT_MS);
    }
    if (timer === null && !polling && csrf !== null) poll();  // poll while the stream is down
  });
}

function stopPolling() {
  if (timer !== null) { clearTimeout(timer); timer = null; }
}

async function poll() {
  timer = null;
  polling = true;
  try {
    render(await Promise.all(
      ["/campaign", "/agents", "/calls/live", "/queue", "/stats", "/calls/awaiting-result"]
        .map((p) => api(p)),
    ));
  } catch (err) {
    if (err instanceof Unauthorized) { showLogin(err.message); return; }
    $("poll-error").textContent = `нет связи с сервисом: ${err.message}`;
  } finally {
    polling = false;
  }
  if (csrf !== null && !streaming) timer = setTimeout(poll, POLL_MS);
}

function start(me) {
  csrf = me.csrf_token;
  $("me").textContent = me.extension ? `${me.name} (тел. ${me.extension})` : me.name;
  $("login").hidden = true;
  $("board").hidden = false;
  stopPolling();
  listen();  // polls only if the stream cannot be had
}

async function act(path, body) {
  $("action-error").textContent = "";
  try {
    renderCampaign(await api(path, "POST", body));
  } catch (err) {
    if (err instanceof Unauthorized) { showLogin(err.message); return; }
    $("action-error").textContent = err.message;  // e.g. a viewer token: 403
  }
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const login = $("login-name").value.trim(), password = $("login-password").value;
  if (!login || !password) return;
  try {
    const me = await api("/login", "POST", { login, password }, "/supervisor");
    $("login-password").value = "";
    start(me);
  } catch (err) {
    $("login-error").textContent = err.status === 429
      ? "Слишком много неверных паролей подряд: вход закрыт на минуту" : "Неверный логин или пароль";
  }
});
$("pause").addEventListener("click", () =>
  act("/campaign/pause", { reason: $("pause-reason").value.trim() || "пауза с панели" }));
$("resume").addEventListener("click", () => act("/campaign/resume", {}));
$("logout").addEventListener("click", async () => {
  try { await api("/logout", "POST", {}, "/supervisor"); } catch (err) { /* signed out anyway */ }
  showLogin("");
});

api("/me", "GET", undefined, "/supervisor").then(start, () => showLogin(""));
