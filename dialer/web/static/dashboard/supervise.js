// Listen, whisper, barge (issue 19) on the dashboard: the buttons on each row of «Звонки сейчас»,
// the feedback while the supervisor's phone rings, and the audit panel. dashboard.js calls
// window.supervise.rows() after each poll; requests go through its api() (session + CSRF).
"use strict";
(() => {
  const MODES = [["listen", "Слушать"], ["whisper", "Суфлёр"], ["barge", "Вмешаться"]];
  const NAMES = { listen: "прослушка", whisper: "суфлёр", barge: "вмешательство",
                  sign_in: "вход", sign_out: "выход", view_report: "отчёт",
                  play_recording: "прослушал запись", why: "почему не звоним" };
  const AUDIT_MS = 10000;
  let auditAt = 0;
  const el = (id) => document.getElementById(id);

  function say(text, isError) {
    const status = el("supervise-status");
    status.textContent = text;
    status.className = isError ? "error" : "running";
  }

  // The refusal in words a supervisor can act on (the server's own text as the fallback).
  function why(err) {
    if (err.field === "extension") {
      return "У вас не указан свой телефон (внутренний номер): попросите администратора выполнить " +
             "callback-dialer supervisors set ЛОГИН --extension НОМЕР";
    }
    if (err.status === 409 && /no answered agent channel/.test(err.message)) {
      return "Оператор ещё не ответил на вызов: попробуйте через несколько секунд";
    }
    if (err.status === 409) return "Звонок уже закончился (или идёт на другом узле): слушать нечего";
    if (err.status === 403) return "Нет прав на прослушку: войдите как супервизор";
    if (err.status === 404) return "Такого звонка нет";
    return `Не удалось: ${err.message}`;
  }

  async function spy(call, mode, title) {
    say(`${title}: звоним на ваш телефон…`, false);
    try {
      const done = await api(`/calls/${encodeURIComponent(call.id)}/listen`, "POST", { mode });
      say(`${title}: звонит ваш телефон ${done.extension} — снимите трубку ` +
          `(оператор ${done.agent || "?"}, заказ ${done.order_id || "?"})`, false);
    } catch (err) {
      say(`${title}: ${why(err)}`, true);
    }
    audit();
  }

  function rows(tbody, calls) {
    [...tbody.rows].forEach((tr, i) => {
      const call = calls[i], td = document.createElement("td");
      MODES.forEach(([mode, title]) => {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = title;
        button.className = `spy-${mode}`;
        button.dataset.attempt = call.id;
        button.addEventListener("click", () => spy(call, mode, title));
        td.append(button);
      });
      tr.append(td);
    });
    if (Date.now() - auditAt > AUDIT_MS) audit();
  }

  async function audit() {
    auditAt = Date.now();
    try {
      const data = await api("/audit");
      el("audit").replaceChildren(...data.entries.slice(0, 50).map((e) => {
        const tr = document.createElement("tr");
        const result = e.result === "accepted" ? "принято" : `отказ: ${e.detail || ""}`;
        [new Date(e.at).toLocaleString("ru-RU"), e.actor, NAMES[e.action] || e.action,
         e.agent_id || "", e.order_id || "", result].forEach((text) => {
          const td = document.createElement("td");
          td.textContent = text;
          tr.append(td);
        });
        return tr;
      }));
    } catch (err) {
      el("audit").replaceChildren();  // e.g. not signed in any more: the board is hidden anyway
    }
  }

  el("audit-refresh").addEventListener("click", audit);
  window.supervise = { rows, audit };
})();
