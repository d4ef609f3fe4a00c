// Recordings panel (issue 19): an order's history and an agent's day, each recorded call
// with a ▶ button that plays /api/v1/calls/{attempt}/recording in one <audio> element
// (same-origin: the supervisor's cookie goes with it; the server audits each play).
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const API = "/api/v1";
  async function get(path) {
    const answer = await fetch(API + path, {credentials: "same-origin", cache: "no-store"});
    const data = await answer.json().catch(() => ({}));
    if (!answer.ok) throw new Error(data.error || `HTTP ${answer.status}`);
    return data;
  }
  function row(attempt, orderId) {
    const tr = document.createElement("tr");
    const cells = [attempt.started_at || "", orderId || attempt.order_id || "", attempt.agent || "",
                   attempt.result || ""];
    for (const text of cells) {
      const td = document.createElement("td"); td.textContent = text; tr.append(td);
    }
    const td = document.createElement("td");
    if (attempt.recording) {
      const button = document.createElement("button");
      button.type = "button"; button.textContent = "▶"; button.title = "Прослушать запись";
      button.dataset.attempt = attempt.id;
      button.addEventListener("click", () => play(attempt.id));
      td.append(button);
    } else { td.textContent = "нет записи"; }
    tr.append(td);
    return tr;
  }
  function play(attemptId) {
    const audio = $("recording-audio");
    audio.src = `${API}/calls/${encodeURIComponent(attemptId)}/recording`;
    audio.play().catch((err) => { $("recordings-status").textContent = String(err); });
  }
  function show(rows, status) {
    $("recordings").replaceChildren(...rows);
    $("recordings-status").textContent = status;
  }
  async function byOrder(event) {
    event.preventDefault();
    const id = $("recordings-order").value.trim();
    if (!id) return;
    try {
      const order = await get(`/orders/${encodeURIComponent(id)}`);
      const attempts = order.attempts || [];
      show(attempts.map((a) => row(a, id)), attempts.length ? "" : "звонков не было");
    } catch (err) { show([], err.message); }
  }
  async function byAgent(event) {
    event.preventDefault();
    const agent = $("recordings-agent").value.trim();
    if (!agent) return;
    try {
      const day = await get(`/agents/${encodeURIComponent(agent)}/day`);
      const attempts = day.attempts.map((a) => ({...a, agent}));
      show(attempts.map((a) => row(a)), attempts.length ? "" : "за сегодня звонков нет");
    } catch (err) { show([], err.message); }
  }
  document.addEventListener("DOMContentLoaded", () => {
    $("recordings-order-form")?.addEventListener("submit", byOrder);
    $("recordings-agent-form")?.addEventListener("submit", byAgent);
  });
})();
