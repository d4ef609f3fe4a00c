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
  // the result in the dashboard's words (dashboard.js's RESULTS), the time as the page's clock
  function resultWord(result) {
    const words = typeof RESULTS === "object" ? RESULTS : {};
    return result ? (words[result] || [result])[0] : "";
  }
  function when(iso) { return iso ? new Date(iso).toLocaleString("ru-RU") : ""; }
  function row(attempt, orderId) {
    const tr = document.createElement("tr");
    const cells = [when(attempt.started_at), orderId || attempt.order_id || "", attempt.agent || "",
                   resultWord(attempt.result)];
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
    $("recordings-status").textContent = "";
    audio.src = `${API}/calls/${encodeURIComponent(attemptId)}/recording`;
    audio.play().catch((err) => {  // a failed load is told by the "error" event below
      if (err.name === "NotAllowedError") {
        $("recordings-status").textContent = "Браузер не дал включить звук сам: нажмите ▶ в проигрывателе";
      }
    });
  }
  // Why the <audio> could not load: the server's words (a 404 says "файл записи не найден" or
  // "запись удалена по сроку хранения"); a refused GET is not audited, a HEAD never is.
  async function failed() {
    const src = $("recording-audio").currentSrc;
    if (!src) return;
    let text = "браузер не может воспроизвести этот файл";
    const head = await fetch(src, {method: "HEAD", credentials: "same-origin"}).catch(() => null);
    if (!head) text = "нет связи с сервером";
    else if (!head.ok) {
      const answer = await fetch(src, {credentials: "same-origin", cache: "no-store"});
      const data = await answer.json().catch(() => ({}));
      text = data.error || `HTTP ${answer.status}`;
    }
    $("recordings-status").textContent = `Запись не воспроизводится: ${text}`;
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
    $("recording-audio")?.addEventListener("error", failed);
  });
})();
