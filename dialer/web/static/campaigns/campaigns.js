// The campaign editor (index.html, issue 21): a supervisor signs in (the dashboard's cookie
// session; the CSRF token kept in memory only), lists the campaigns, creates and edits one
// (fields.js renders the form from its settings), sees «Предпросмотр» of a change before
// «Сохранить», pauses, resumes, archives, and reads the history with «Откатить к версии N».
// Errors come from /api/v1/campaigns with the field they name and are shown beside it.
"use strict";
const API = "/api/v1";
const F = window.campaignFields;
const STATES = { active: "идёт обзвон", paused: "пауза", archived: "в архиве" };
const STATE_CLASS = { active: "running", paused: "paused", archived: "archived" };
let csrf = null;  // the session's CSRF token: sent on every write, never stored
let current = null;  // the campaign open in the form (null: a new one)
let defaults = {};  // a new campaign's settings, from GET /campaigns

const $ = (id) => document.getElementById(id);

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

// The loader's messages are English; the common ones are said in Russian, the rest as given.
const SAYINGS = [
  [/expected HH:MM/, "нужно время ЧЧ:ММ, например 09:30"],
  [/must be before end/, "начало окна должно быть раньше конца"],
  [/expected a date YYYY-MM-DD/, "нужна дата ГГГГ-ММ-ДД, например 2026-01-07"],
  [/weekdays must be a non-empty/, "отметьте хотя бы один день недели"],
  [/expected int/, "нужно целое число"],
  [/expected float/, "нужно число"],
  [/expected bool/, "да или нет"],
  [/unknown time zone/, "неизвестный часовой пояс (например, Europe/Moscow)"],
  [/at least one status/, "нужен хотя бы один статус, иначе ни один заказ не попадёт в обзвон"],
  [/a campaign needs a name/, "у кампании должно быть название"],
  [/exists already/, "кампания с таким названием уже есть"],
  [/must be between 0 and quick_retry_max_s/, "«от» должно быть не больше «до»"],
  [/must be positive/, "нужно число больше нуля"],
  [/a pause needs a reason/, "укажите причину паузы"],
  [/is at version/, "кампанию уже изменили: откройте её снова и повторите правку"],
  [/may not/, "нет прав на это действие"],
];
function say(err) {
  for (const [pattern, text] of SAYINGS) if (pattern.test(err.message)) return text;
  return err.message;
}

function refused(err, where) {
  if (err instanceof Unauthorized) { showLogin(err.message); return; }
  where.textContent = say(err);
}

function showLogin(message) {
  csrf = null;
  $("editor").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  $("login-name").focus();
}

function cell(content) {
  const td = document.createElement("td");
  if (content instanceof Node) td.append(content); else td.textContent = content ?? "";
  return td;
}
function button(text, onClick, id) {
  const b = document.createElement("button");
  b.type = "button"; b.textContent = text; b.addEventListener("click", onClick);
  if (id) b.id = id;
  return b;
}
function when(iso) { return iso ? new Date(iso).toLocaleString("ru-RU") : ""; }
function stateText(c) {
  return c.state === "paused" ? `пауза (${c.paused_reason || "без причины"})` : STATES[c.state] || c.state;
}
function shown(value) {
  if (Array.isArray(value)) return value.length ? value.join(", ") : "—";
  if (typeof value === "boolean") return value ? "да" : "нет";
  return value === null || value === undefined ? "—" : String(value);
}

// ---- the list -------------------------------------------------------------------------------

async function loadList() {
  $("list-error").textContent = "";
  try {
    const data = await api(`/campaigns${$("show-archived").checked ? "?all=1" : ""}`);
    defaults = data.defaults || {};
    $("campaigns").replaceChildren(...data.campaigns.map((c) => {
      const tr = document.createElement("tr");
      tr.dataset.name = c.name;
      const state = document.createElement("span");
      state.textContent = stateText(c); state.className = STATE_CLASS[c.state] || "";
      tr.append(cell(c.name), cell(state), cell(String(c.version)),
        cell(`${when(c.updated_at)} — ${c.updated_by}`), cell(button("Открыть", () => openCampaign(c.name))));
      return tr;
    }));
  } catch (err) { refused(err, $("list-error")); }
}

// ---- one campaign ---------------------------------------------------------------------------

function show(entry) {
  current = entry;
  $("campaign-panel").hidden = false;
  $("form-title").textContent = entry ? `Кампания «${entry.name}», версия ${entry.version}` : "Новая кампания";
  $("state-bar").hidden = !entry;
  $("history-panel").hidden = !entry;
  if (entry) {
    const state = $("campaign-state");
    state.textContent = stateText(entry); state.className = STATE_CLASS[entry.state] || "";
    state.dataset.state = entry.state;
    $("pause").disabled = entry.state !== "active";
    $("resume").disabled = entry.state === "active";
    $("archive").disabled = entry.state === "archived";
  }
  F.render($("fields"), entry ? entry.settings : defaults, !entry);
  $("preview").hidden = true;
  $("form-error").textContent = "";
}

async function openCampaign(name) {
  $("saved").textContent = "";
  try {
    show(await api(`/campaigns/${encodeURIComponent(name)}`));
    await loadHistory();
  } catch (err) { refused(err, $("list-error")); }
}

function startNew() {
  $("saved").textContent = "";
  show(null);
  $("fields").querySelector("input")?.focus();
}

function refusedInForm(err) {
  if (err instanceof Unauthorized) { showLogin(err.message); return; }
  const text = say(err);
  if (!F.showError($("fields"), err.field, text)) {
    $("form-error").textContent = err.field ? `${F.label(err.field)}: ${text}` : text;
  }
}

async function preview() {
  F.clearErrors($("fields"));
  $("form-error").textContent = ""; $("saved").textContent = "";
  const box = $("preview");
  box.hidden = true; box.dataset.state = "asking";
  if (!current) {
    $("preview-text").textContent = "Новая кампания: в очереди ещё нет заказов.";
    box.hidden = false; box.dataset.state = "shown";
    return;
  }
  try {
    const said = await api(`/campaigns/${encodeURIComponent(current.name)}/preview`, "POST",
      { changes: F.read($("fields")) });
    $("preview-text").textContent = said.text;
    box.hidden = false; box.dataset.state = "shown";
  } catch (err) { box.dataset.state = "refused"; refusedInForm(err); }
}

async function save(event) {
  event.preventDefault();
  F.clearErrors($("fields"));
  $("form-error").textContent = ""; $("saved").textContent = "";
  const settings = F.read($("fields"));
  try {
    const entry = current
      ? await api(`/campaigns/${encodeURIComponent(current.name)}`, "PATCH",
        { changes: settings, expected_version: current.version })
      : await api("/campaigns", "POST", { settings });
    const same = current && entry.version === current.version;
    show(entry);
    $("saved").textContent = same ? "Изменений нет" : `Сохранено: версия ${entry.version}`;
    await Promise.all([loadHistory(), loadList()]);
  } catch (err) { refusedInForm(err); }
}

async function setState(action, body) {
  $("form-error").textContent = "";
  try {
    const entry = await api(`/campaigns/${encodeURIComponent(current.name)}/${action}`, "POST", body);
    show({ ...entry });
    await loadList();
  } catch (err) { refused(err, $("form-error")); }
}

// ---- history --------------------------------------------------------------------------------

function changesText(changes) {
  if (!changes.length) return "создана";
  return changes.map((c) => `${F.label(c.field)}: ${shown(c.before)} → ${shown(c.after)}`).join("; ");
}

function noteText(note) {  // the catalog's notes are English; the known ones in Russian
  return note.replace(/^rollback to (\d+)$/, "откат к версии $1")
    .replace(/^first start: imported from (.*)$/, "первый запуск: импорт из $1");
}

async function loadHistory() {
  if (!current) return;
  const data = await api(`/campaigns/${encodeURIComponent(current.name)}/history`);
  $("history").replaceChildren(...data.versions.map((v) => {
    const tr = document.createElement("tr");
    tr.dataset.version = String(v.version);
    const note = v.note ? ` (${noteText(v.note)})` : "";
    const back = v.version === current.version ? ""
      : button(`Откатить к версии ${v.version}`, () => rollback(v.version), `rollback-${v.version}`);
    tr.append(cell(String(v.version)), cell(when(v.created_at)), cell(v.author),
      cell(changesText(v.changes) + note), cell(back));
    return tr;
  }));
}

async function rollback(version) {
  $("form-error").textContent = ""; $("saved").textContent = "";
  try {
    const entry = await api(`/campaigns/${encodeURIComponent(current.name)}/rollback`, "POST", { version });
    show(entry);
    $("saved").textContent = `Откат к версии ${version}: сохранено как версия ${entry.version}`;
    await Promise.all([loadHistory(), loadList()]);
  } catch (err) { refused(err, $("form-error")); }
}

// ---- sign-in and wiring -----------------------------------------------------------------------

function start(me) {
  csrf = me.csrf_token;
  $("me").textContent = me.name;
  $("login").hidden = true;
  $("editor").hidden = false;
  loadList();
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
$("new-campaign").addEventListener("click", startNew);
$("show-archived").addEventListener("change", loadList);
$("preview-button").addEventListener("click", preview);
$("campaign-form").addEventListener("submit", save);
$("pause").addEventListener("click", () =>
  setState("pause", { reason: $("pause-reason").value.trim() || "пауза из редактора" }));
$("resume").addEventListener("click", () => setState("resume", {}));
$("archive").addEventListener("click", () => setState("archive", {}));

api("/me", "GET", undefined, "/supervisor").then(start, () => showLogin(""));
