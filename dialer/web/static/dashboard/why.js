// «Почему не звоним?» (issue 19) on the dashboard: the order search box of #why-panel asks
// GET /api/v1/orders/{id}/why (through dashboard.js's api(): the session) and shows the
// explanation: its sentences, then the facts table. Each look-up is audited by the server.
// The panel's data-state says where a look-up is: "asking", then "answered" or "refused".
"use strict";
(() => {
  const el = (id) => document.getElementById(id);

  function show(answer) {
    el("why-state").textContent = `Заказ ${answer.order_id}`;
    el("why-sentences").replaceChildren(...answer.sentences.map((text) => {
      const li = document.createElement("li");
      li.textContent = text;
      return li;
    }));
    el("why-facts").replaceChildren(...answer.table.map(([label, value]) => {
      const tr = document.createElement("tr");
      const th = document.createElement("th"), td = document.createElement("td");
      th.textContent = label;
      td.textContent = value;
      tr.append(th, td);
      return tr;
    }));
  }

  function clear(message) {
    el("why-state").textContent = "";
    el("why-sentences").replaceChildren();
    el("why-facts").replaceChildren();
    el("why-error").textContent = message;
  }

  async function ask(event) {
    event.preventDefault();
    const id = el("why-id").value.trim();
    if (!id) { clear("Введите номер заказа"); return; }
    clear("");
    el("why-panel").dataset.state = "asking";
    el("why-state").textContent = "Ищем…";
    try {
      show(await api(`/orders/${encodeURIComponent(id)}/why`));
      el("why-panel").dataset.state = "answered";
    } catch (err) {
      if (err.status === 404) clear(`Заказ ${id} не найден`);
      else if (err.status === 403) clear("Нет прав: войдите как супервизор");
      else clear(`Не удалось: ${err.message}`);
      el("why-panel").dataset.state = "refused";
    }
    if (window.supervise) window.supervise.audit();
  }

  el("why-form").addEventListener("submit", ask);
})();
