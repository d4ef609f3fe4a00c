// The agent's workspace (issue 15 §2). Plain JS, no build step, nothing fetched from
// elsewhere. The dialer pushes the agent's state and call stages over Server-Sent Events
// (GET /agent/events); the card is read when the agent accepts (presses 1); results and
// state changes are POSTs with the session cookie and X-CSRF-Token. Every text that came
// from the CRM is set with textContent, never as HTML.
"use strict";
(function () {
  const byId = (id) => document.getElementById(id);
  const lang = new URLSearchParams(location.search).get("lang") || localStorage.getItem("cbd-lang") || "ru";
  const labels = Object.assign({}, window.AGENT_LABELS.ru, window.AGENT_LABELS[lang] || {});
  const L = (key, values) => String(labels[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => String(values?.[k] ?? ""));

  const session = { me: null, csrf: null, options: null, events: null, card: null, resultOrder: null, chosen: null };
  // for bench/agent_card.py: when each card was shown, beside the accept event's server time
  window.cbdTimings = [];

  function applyLabels() {
    document.documentElement.lang = lang;
    document.title = L("title");
    for (const node of document.querySelectorAll("[data-label]")) node.textContent = L(node.dataset.label);
  }

  async function call(method, path, body) {
    const headers = { "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && session.csrf) headers["X-CSRF-Token"] = session.csrf;
    const response = await fetch(path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = {};
    try { data = await response.json(); } catch (e) { data = { error: response.statusText }; }
    if (response.status === 401 && path !== "/agent/login") { showLogin(); }
    if (!response.ok) { const error = new Error(data.error || response.statusText); error.data = data; error.status = response.status; throw error; }
    return data;
  }

  function cell(row, text) { const td = document.createElement("td"); td.textContent = text ?? ""; row.appendChild(td); return td; }
  function fill(tbody, rows, columns) {
    tbody.replaceChildren();
    for (const item of rows) { const tr = document.createElement("tr"); for (const c of columns) cell(tr, c(item)); tbody.appendChild(tr); }
  }
  function when(iso) { return iso ? new Date(iso).toLocaleString("ru-RU", { dateStyle: "short", timeStyle: "short" }) : ""; }
  function whenIn(iso, zone) {
    if (!iso) return "";
    const text = new Date(iso).toLocaleString("ru-RU", { dateStyle: "short", timeStyle: "short", timeZone: zone || undefined });
    return zone ? `${text} (${zone})` : text;
  }
  function setError(id, error) {
    const field = error && error.data && error.data.field;
    const known = field && labels[`error_${field}`];  // the refusal in the agent's words
    const detail = error ? error.message || String(error) : "";
    byId(id).textContent = !error ? "" : known ? `${known} (${detail})` : L("error_generic", { error: detail });
    if (error) byId(id).scrollIntoView({ block: "nearest" });
  }

  // ---- sign-in ------------------------------------------------------------------------
  function showLogin() {
    if (session.events) { session.events.close(); session.events = null; }
    if (phone) { phone.stop(); byId("phone").hidden = true; }  // signed out: unregistered
    byId("who").hidden = true; byId("desk").hidden = true; byId("login").hidden = false;
  }

  byId("login").addEventListener("submit", async (event) => {
    event.preventDefault();
    setError("login-error", null);
    try {
      await call("POST", "/agent/login", { agent: byId("login-agent").value.trim(), password: byId("login-password").value });
      byId("login-password").value = "";
      await start();
    } catch (error) { setError("login-error", error); }
  });

  async function start() {
    const me = await call("GET", "/agent/me");
    session.me = me; session.csrf = me.csrf_token;
    byId("login").hidden = true; byId("who").hidden = false; byId("desk").hidden = false;
    byId("agent-name").textContent = `${me.name || ""} (${me.agent})`;
    const select = byId("pause-reason");
    select.replaceChildren(...me.pause_reasons.map((reason) => new Option(reason, reason)));
    showState(me.state, me.reason);
    showStage(null);
    openEvents();
    if (phone) phone.start();  // the softphone, when the service has one for this agent
    await refreshOwed(me);
    await refreshCallbacks();
  }

  // ---- state --------------------------------------------------------------------------
  function showState(state, reason) {
    const badge = byId("state");
    badge.textContent = L(`state_${state}`); badge.className = `state ${state}`;
    byId("state-reason").textContent = reason || "";
    byId("ready").disabled = state === "idle" || state === "ringing" || state === "on_call";
    byId("pause").disabled = state === "logged_out";
  }

  async function setState(body) {
    setError("action-error", null);
    try { const me = await call("POST", "/agent/state", body); showState(me.state, me.reason); }
    catch (error) { setError("action-error", error); }
  }
  byId("ready").addEventListener("click", () => setState({ state: "ready" }));
  byId("pause").addEventListener("click", () => setState({ state: "pause", reason: byId("pause-reason").value }));
  byId("end-shift").addEventListener("click", () => setState({ state: "logout" }));
  byId("sign-out").addEventListener("click", async () => {
    setError("action-error", null);
    try {
      if (session.me && !["ringing", "on_call"].includes(byId("state").classList[1])) await call("POST", "/agent/state", { state: "logout" });
      await call("POST", "/agent/logout", {});
      showLogin(); byId("login-error").textContent = L("signed_out");
    } catch (error) { setError("action-error", error); }
  });
  const pop = byId("pop-crm");
  pop.checked = localStorage.getItem("cbd-pop-crm") === "1";
  pop.addEventListener("change", () => localStorage.setItem("cbd-pop-crm", pop.checked ? "1" : "0"));

  // ---- live events --------------------------------------------------------------------
  function openEvents() {
    if (session.events) session.events.close();
    const source = new EventSource("/agent/events");
    session.events = source;
    source.addEventListener("open", () => { byId("live").textContent = L("live_on"); });
    source.addEventListener("error", () => { byId("live").textContent = L("live_off"); });
    source.addEventListener("hello", (event) => {
      const data = JSON.parse(event.data);
      if (data.state) showState(data.state.state, data.state.reason);
      if (data.call) onCall(data.call, true);
    });
    source.addEventListener("state", (event) => {
      const data = JSON.parse(event.data);
      showState(data.state, data.reason);
      refreshOwed();
    });
    source.addEventListener("call", (event) => onCall(JSON.parse(event.data), false));
  }

  function showStage(call) {
    if (!call) { byId("call-stage").textContent = L("stage_none"); return; }
    let key = `stage_${call.stage}`;
    if (call.stage === "ended") key = call.result !== "answered" ? "stage_ended_other"
      : session.me && session.me.disposition_source === "crm" ? "stage_ended_answered_crm" : "stage_ended_answered";
    byId("call-stage").textContent = L(key, { order: call.order, result: L(`result_${call.result}`) });
  }

  async function onCall(call, replay) {
    showStage(call);
    if (call.stage === "offered" && !replay) { byId("card").hidden = true; byId("result-done").textContent = ""; }
    if (call.stage === "accepted" || (replay && call.stage !== "offered")) {
      await showCard(call.order, replay ? null : call.at);
      if (!replay && pop.checked && session.card && session.card.crm_url) window.open(session.card.crm_url, "_blank", "noopener");
    }
    if (call.stage === "ended" && call.result === "answered") {
      if (session.card && session.card.id === call.order) await showCard(call.order, null);  // the call in its history
      await refreshOwed();
    }
    if (call.stage === "ended") refreshCallbacks();
  }

  // ---- the card -----------------------------------------------------------------------
  async function showCard(orderId, acceptedAt) {
    let card;
    try { card = await call("GET", `/agent/orders/${encodeURIComponent(orderId)}/card`); }
    catch (error) { setError("action-error", error); return; }
    session.card = card;
    byId("card-id").textContent = card.id;
    const link = byId("card-crm");
    if (card.crm_url) { link.href = card.crm_url; link.hidden = false; } else { link.removeAttribute("href"); link.hidden = true; }
    byId("card-created").textContent = when(card.created_at);
    const time = card.customer_time || {};
    byId("card-local-time").textContent = time.now ? time.now.slice(11, 16) : "";
    const zone = time.zones && time.zones[0] ? time.zones[0].zone : "";
    byId("card-zone").textContent = L("zone_source", { zone, source: L(`source_${time.source}`) });
    byId("card-name").textContent = card.name;
    byId("card-phone").textContent = card.phone;
    byId("card-extra-phone").textContent = card.extra_phone || "—";
    byId("card-address").textContent = card.address || [card.region, card.city].filter(Boolean).join(", ") || "—";
    byId("card-delivery").textContent = card.delivery_date || "—";
    byId("card-comment").textContent = card.comment || "—";
    const items = card.items && card.items.length ? card.items : [{ name: card.product, quantity: "", price: "" }];
    fill(document.querySelector("#card-items tbody"), items, [(i) => i.name, (i) => i.quantity, (i) => i.price]);
    byId("card-total").textContent = card.total || "";
    fill(document.querySelector("#card-attempts tbody"), card.attempts || [],
      [(a) => when(a.started_at), (a) => (a.result ? L(`result_${a.result}`) : "…"), (a) => a.agent,
        (a) => (a.recording || "").split("/").pop()]);
    fill(document.querySelector("#card-outcomes tbody"), card.outcomes || [],
      [(o) => when(o.created_at), (o) => o.crm_status, (o) => o.problem || "", (o) => o.comment]);
    byId("card").hidden = false;
    if (acceptedAt) window.cbdTimings.push({ order: card.id, accepted_at: acceptedAt, shown_at: Date.now() });
  }

  // ---- results ------------------------------------------------------------------------
  async function loadResultOptions(orderId) {
    // each campaign may have its own problems and window: the options of the order shown
    if (session.options && session.options.order === orderId) return;
    const options = await call("GET", `/agent/result-options?order=${encodeURIComponent(orderId)}`);
    options.order = orderId;
    byId("invalid-problem").replaceChildren(...options.invalid_problems.map((p) => new Option(p, p)));
    byId("refused-problem").replaceChildren(...options.refusal_problems.map((p) => new Option(p, p)));
    session.options = options;
  }

  async function refreshOwed(me) {
    try { me = me || await call("GET", "/agent/me"); } catch (error) { return; }
    const owed = me.awaiting_result || [];
    if (!owed.length) { byId("result").hidden = true; session.resultOrder = null; return; }
    if (session.resultOrder === owed[0]) return;
    session.resultOrder = owed[0];
    try { await loadResultOptions(owed[0]); } catch (error) { setError("result-error", error); }
    if (!session.card || session.card.id !== owed[0]) await showCard(owed[0], null);
    byId("result-order").textContent = owed[0];
    byId("result-form").hidden = true; setError("result-error", null);
    byId("result").hidden = false;
  }

  for (const button of document.querySelectorAll("[data-result]")) {
    button.addEventListener("click", () => choose(button.dataset.result, button.textContent));
  }

  function choose(result, label) {
    session.chosen = { result, label };
    byId("result-chosen").textContent = label;
    byId("callback-fields").hidden = result !== "callback";
    byId("invalid-fields").hidden = result !== "invalid";
    byId("refused-fields").hidden = result !== "refused";
    setError("result-error", null);
    if (result === "callback") prepareCallback();
    showDuplicateField();
    byId("result-form").hidden = false;
  }

  function prepareCallback() {
    const time = (session.card && session.card.customer_time) || {};
    const zone = time.zones && time.zones[0] ? time.zones[0].zone : "";
    const localNow = (time.now || "").slice(0, 16);
    const input = byId("callback-at");
    input.min = localNow;
    if (!input.value || input.value < localNow) input.value = localNow;
    byId("callback-zone").textContent = zone;
    const window_ = session.options.window;
    const last = new Date(`${session.card.horizon_start}T00:00:00Z`);
    last.setUTCDate(last.getUTCDate() + session.options.calling_days - 1);
    const lastDay = last.toLocaleDateString("ru-RU", { timeZone: "UTC" });
    byId("callback-window").textContent = L("window", { start: window_.start, end: window_.end, last: lastDay });
  }

  function showDuplicateField() { byId("duplicate-of-label").hidden = byId("invalid-problem").value !== "Дубль"; }
  byId("invalid-problem").addEventListener("change", showDuplicateField);
  byId("result-cancel").addEventListener("click", () => { byId("result-form").hidden = true; });

  byId("result-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const orderId = session.resultOrder;
    const { result, label } = session.chosen;
    const body = { result };
    const comment = byId("result-comment").value.trim();
    if (comment) body.comment = comment;
    if (result === "callback") { body.at = byId("callback-at").value; body.mine = byId("callback-mine").checked; }
    if (result === "invalid") {
      body.problem = byId("invalid-problem").value;
      if (body.problem === "Дубль") body.duplicate_of = byId("duplicate-of").value.trim();
    }
    if (result === "refused") { body.problem = byId("refused-problem").value; body.reason = byId("refused-reason").value.trim(); }
    setError("result-error", null);
    byId("result-send").disabled = true;
    try {
      await call("POST", `/agent/orders/${encodeURIComponent(orderId)}/result`, body);
      byId("result").hidden = true; byId("result-form").hidden = true;
      for (const id of ["result-comment", "refused-reason", "duplicate-of"]) byId(id).value = "";
      byId("callback-mine").checked = false;
      session.resultOrder = null;
      byId("result-done").textContent = L("saved", { order: orderId, label });
      await refreshCallbacks();
      await refreshOwed();
    } catch (error) { setError("result-error", error); }
    finally { byId("result-send").disabled = false; }
  });

  // ---- my callbacks -------------------------------------------------------------------
  async function refreshCallbacks() {
    let data;
    try { data = await call("GET", "/agent/callbacks"); } catch (error) { return; }
    fill(byId("callbacks-rows"), data.callbacks, [(c) => c.id, (c) => c.name, (c) => whenIn(c.callback_at, c.zones[0])]);
    byId("callbacks-none").hidden = data.callbacks.length > 0;
  }

  // ---- boot ---------------------------------------------------------------------------
  applyLabels();
  const phone = window.AgentPhone ? window.AgentPhone({ L, call, byId }) : null;  // phone.js
  start().catch(() => showLogin());
})();
