// The wallboard (index.html): the `live` events of GET /api/v1/events as large figures.
// Who it is: a supervisor's session (the cookie, after signing in on /), or a viewer token
// given in the fragment, /wallboard#token=… (a fragment never reaches the server or its
// logs). EventSource cannot send an Authorization header, so the stream is read with
// fetch() and a ReadableStream in both cases (one code path, and the refusal's status is
// seen); it reconnects after a drop.
"use strict";
const EVENTS = "/api/v1/events";
const RECONNECT_MS = 2000;
const REFUSED_MS = 15000;  // after a 401/403: ask again, slower
const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.hash.slice(1)).get("token");  // memory only

function setText(id, text) { $(id).textContent = text; }

function showError(message) {
  $("wall-error").textContent = message;
  $("wall-error").hidden = !message;
}

function render(s) {
  setText("campaign-name", s.campaign.name);
  const state = $("campaign-state");
  state.textContent = s.campaign.paused ? "пауза" : "идёт обзвон";
  state.className = s.campaign.paused ? "paused" : "running";
  setText("wall-calls", s.calls.calls.length);
  setText("wall-queue", s.queue.total);
  setText("wall-confirmed", (s.stats.outcomes_by_kind || {}).confirmed || 0);
  const byResult = s.stats.calls_by_result || {};
  const finished = s.stats.calls - (byResult.live || 0), answered = byResult.answered || 0;
  setText("wall-contact", finished ? `${Math.round((100 * answered) / finished)}%` : "—");
  setText("wall-contact-of", `дозвонились: ${answered} из ${finished} звонков`);
  setText("wall-overdue", s.awaiting.overdue);
  setText("wall-awaiting", `ждут результата: ${s.awaiting.calls.length}`);
  const states = new Map();
  for (const a of s.agents.agents) {
    const name = a.state_ru || a.state;
    states.set(name, (states.get(name) || 0) + 1);
  }
  $("wall-agents").replaceChildren(...[...states].map(([name, n]) => {
    const li = document.createElement("li"), b = document.createElement("b");
    b.textContent = n;
    li.append(b, name);
    return li;
  }));
  setText("updated", new Date().toLocaleTimeString("ru-RU"));
  setText("link-state", "онлайн");
  $("link-state").className = "live";
  showError("");
}

// One Server-Sent Events block: its event name and data (comments and retry lines skipped).
function parseBlock(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  return data.length ? { name, data: data.join("\n") } : null;
}

function handle(event) {
  if (event.name === "live") render(JSON.parse(event.data));
  if (event.name === "bye") {  // the session ended or the token was revoked
    showError(token ? "Токен отозван: выдайте новый токен viewer" : "Сеанс закончился: войдите снова на панели (/)");
  }
}

function refusal(status) {
  if (status === 401) {
    return token ? "Токен не принят (отозван или неверен): выдайте новый токен viewer"
      : "Нужно войти: войдите как супервизор на панели (/) или откройте табло по ссылке с #token=…";
  }
  if (status === 403) return "Этому входу табло не положено (403)";
  return `Сервис ответил ${status}`;
}

async function read() {
  const headers = { Accept: "text/event-stream" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const answer = await fetch(EVENTS, {
    headers, cache: "no-store", credentials: token ? "omit" : "same-origin",
  });
  if (!answer.ok || !answer.body) { showError(refusal(answer.status)); return REFUSED_MS; }
  const reader = answer.body.getReader(), decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return RECONNECT_MS;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = parseBlock(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (event) handle(event);
    }
  }
}

async function run() {
  for (;;) {
    let pause = RECONNECT_MS;
    try {
      pause = await read();
    } catch (err) {
      showError(`нет связи с сервисом: ${err.message}`);
    }
    setText("link-state", "переподключение…");
    $("link-state").className = "muted";
    await new Promise((resolve) => { setTimeout(resolve, pause); });
  }
}

window.addEventListener("hashchange", () => location.reload());  // a new token: start over
run();
