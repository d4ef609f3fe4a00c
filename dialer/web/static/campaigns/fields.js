// The campaign form (issue 21): rendered from the settings mapping the API gives, so a field
// added to the campaign later still shows (under «Прочее», with its own name) without a
// change here. Each field is a <div class="field" data-field="campaign.window.start"> with
// its control and a place for the API's error about it. Russian labels in the manuals' words.
"use strict";
(() => {
  const LABELS = {
    name: "Название кампании",
    intake_statuses: "Статусы заказа для обзвона",
    intake_states: "Состояния заказа для обзвона",
    excluded_sources: "Исключить источники (например, Kaspi)",
    never_touch_statuses: "Никогда не звонить: статусы",
    skip_prepaid: "Не звонить при полной предоплате",
    countries: "Страны кампании",
    foreign_numbers: "Иностранный номер: flag — «Консультация», dial — звонить",
    default_tz: "Часовой пояс по умолчанию",
    "window.start": "Окно звонков: с (время клиента)",
    "window.end": "Окно звонков: до",
    "window.weekdays": "Дни недели",
    "window.holidays": "Праздники без звонков (ГГГГ-ММ-ДД, по одной в строке)",
    "retry.quick_retries": "«Быстрый перезвон»: сколько раз",
    "retry.quick_retry_min_s": "«Быстрый перезвон» через, с (от)",
    "retry.quick_retry_max_s": "«Быстрый перезвон» через, с (до)",
    "retry.slow_retry_s": "«Недозвон за сегодня»: через, с",
    "retry.calling_days": "Дней обзвона (сегодня, «за вчера», «за позавчера»)",
    "retry.final_min_calls_per_day": "Итоговый «Недозвон»: звонков за день, не меньше",
    "retry.final_span_hours": "Итоговый «Недозвон»: за часов, не больше",
    "retry.max_extra_days": "Дополнительных дней обзвона, не больше",
    "retry.network_retry_s": "Перегрузка линии: повтор через, с",
    "retry.trunk_pause_after": "Пауза линии после сбоев подряд",
    "retry.trunk_pause_s": "Пауза линии, с",
    agents: "Операторы (внутренние номера, по одному в строке; берутся при запуске сервиса)",
    lines: "Линий",
    priority: "Приоритет (1–9)",
    language: "Язык подсказок (ru, kk)",
    ring_timeout_s: "Ждать ответа клиента, с",
    agent_accept_timeout_s: "Ждать нажатия 1 оператором, с",
    talk_time_s: "Средний разговор, с",
    wrap_up_s: "Обработка после звонка, с",
    wrap_up_max_s: "«Нет результата» через, с",
    callback_owner_grace_s: "Перезвон ждёт своего оператора, с",
    agent_miss_pause_after: "Пауза оператора после пропущенных подряд",
    pause_reasons: "Причины паузы оператора",
    agent_channel_template: "Канал оператора",
    customer_channel_template: "Канал клиента",
    spam_words: "Слова спама в имени",
    duplicate_window_days: "«Дубль»: смотреть назад, дней",
    refusal_problems: "Проблемы «Отказ»",
    disposition_source: "Кто даёт результат: agent, crm или both",
    crm_result_timeout_s: "Результат из CRM ждать, с",
    crm_result_read_s: "Первое чтение CRM после звонка, с",
    crm_confirmed_statuses: "Статусы CRM «Подтвержден»",
    crm_refused_statuses: "Статусы CRM «Отказ»",
  };
  const GROUPS = [
    ["Основное", ["name", "priority", "lines", "language", "default_tz", "countries", "foreign_numbers"]],
    ["Окно звонков", ["window.start", "window.end", "window.weekdays", "window.holidays", "window.*"]],
    ["Какие заказы звонить", ["intake_statuses", "intake_states", "excluded_sources",
      "never_touch_statuses", "skip_prepaid", "spam_words", "duplicate_window_days"]],
    ["Повторы", ["retry.quick_retries", "retry.quick_retry_min_s", "retry.quick_retry_max_s",
      "retry.slow_retry_s", "retry.calling_days", "retry.final_min_calls_per_day",
      "retry.final_span_hours", "retry.max_extra_days", "retry.network_retry_s",
      "retry.trunk_pause_after", "retry.trunk_pause_s", "retry.*"]],
    ["Операторы", ["agents", "agent_accept_timeout_s", "agent_miss_pause_after", "pause_reasons",
      "wrap_up_s", "wrap_up_max_s", "callback_owner_grace_s", "ring_timeout_s", "talk_time_s"]],
    ["Результаты", ["refusal_problems", "disposition_source", "crm_result_timeout_s",
      "crm_result_read_s", "crm_confirmed_statuses", "crm_refused_statuses"]],
  ];
  const DAYS = ["Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"];
  const ROOT = "campaign";

  // "window.start" → ["window", "start"]; the flat keys of a mapping, nested tables dotted
  function flatten(settings, prefix = "") {
    const out = {};
    for (const [key, value] of Object.entries(settings)) {
      const path = prefix ? `${prefix}.${key}` : key;
      if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        Object.assign(out, flatten(value, path));
      } else {
        out[path] = value;
      }
    }
    return out;
  }

  function label(path) {
    const key = path.startsWith(`${ROOT}.`) ? path.slice(ROOT.length + 1) : path;
    return LABELS[key.replace(/\[\d+\]$/, "")] || key;
  }

  function kindOf(path, value) {
    if (path === "window.weekdays") return "days";
    if (typeof value === "boolean") return "bool";
    if (typeof value === "number") return Number.isInteger(value) ? "int" : "float";
    if (Array.isArray(value)) return value.every((v) => typeof v === "number") && value.length ? "numbers" : "lines";
    if (value === null) return "nullable";
    return "text";
  }

  function control(path, value, kind, isNew) {
    const id = `f-${path.replace(/[^a-z0-9_]/gi, "-")}`;
    let el;
    if (kind === "days") {
      el = document.createElement("span");
      el.className = "days";
      DAYS.forEach((day, i) => {
        const box = document.createElement("input");
        box.type = "checkbox"; box.value = String(i); box.checked = value.includes(i);
        box.id = `${id}-${i}`; box.dataset.day = String(i);
        const lab = document.createElement("label");
        lab.append(box, ` ${day}`);
        el.append(lab);
      });
    } else if (kind === "bool") {
      el = document.createElement("input");
      el.type = "checkbox"; el.checked = value;
    } else if (kind === "lines" || kind === "numbers") {
      el = document.createElement("textarea");
      el.rows = Math.min(8, Math.max(2, value.length));
      el.value = value.join("\n");
    } else {
      el = document.createElement("input");
      el.type = kind === "int" || kind === "float" ? "number" : "text";
      if (kind === "float") el.step = "any";
      el.value = value === null ? "" : String(value);
    }
    el.id = id;
    if (path === "name" && !isNew) el.readOnly = true;  // a campaign's name cannot change
    return el;
  }

  function fieldRow(path, value, isNew) {
    const kind = kindOf(path, value);
    const row = document.createElement("div");
    row.className = "field";
    row.dataset.field = `${ROOT}.${path}`;
    row.dataset.kind = kind;
    const lab = document.createElement("label");
    lab.textContent = label(path);
    const el = control(path, value, kind, isNew);
    if (kind !== "days") lab.htmlFor = el.id;
    const err = document.createElement("span");
    err.className = "field-error";
    row.append(lab, el, err);
    return row;
  }

  function render(container, settings, isNew) {
    const flat = flatten(settings);
    const used = new Set();
    const sets = GROUPS.map(([title, keys]) => {
      const paths = [];
      for (const k of keys) {  // "retry.*": the table's fields not named before it
        const more = k.endsWith(".*")
          ? Object.keys(flat).filter((p) => p.startsWith(k.slice(0, -1)) && !used.has(p))
          : (k in flat && !used.has(k) ? [k] : []);
        more.forEach((p) => used.add(p));
        paths.push(...more);
      }
      return [title, paths];
    });
    sets.push(["Прочее", Object.keys(flat).filter((p) => !used.has(p)).sort()]);
    container.replaceChildren(...sets.filter(([, paths]) => paths.length).map(([title, paths]) => {
      const fs = document.createElement("fieldset");
      const legend = document.createElement("legend");
      legend.textContent = title;
      fs.append(legend, ...paths.map((p) => fieldRow(p, flat[p], isNew)));
      return fs;
    }));
  }

  function valueOf(row) {
    const kind = row.dataset.kind;
    if (kind === "days") {
      return [...row.querySelectorAll("input[data-day]")].filter((b) => b.checked).map((b) => Number(b.value));
    }
    const el = row.querySelector("input, textarea");
    if (kind === "bool") return el.checked;
    if (kind === "lines" || kind === "numbers") {
      const items = el.value.split("\n").map((s) => s.trim()).filter((s) => s !== "");
      return kind === "numbers" ? items.map((s) => (/^-?\d+(\.\d+)?$/.test(s) ? Number(s) : s)) : items;
    }
    const text = el.value.trim();
    if (kind === "int" || kind === "float") return text === "" || Number.isNaN(Number(text)) ? el.value : Number(text);
    if (kind === "nullable") {  // unset (e.g. «Линий» of a campaign without its own cap)
      if (text === "") return null;
      return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
    }
    return el.value;
  }

  // the form back as the campaign file's table: {"window": {"start": …}, …}
  function read(container) {
    const out = {};
    for (const row of container.querySelectorAll(".field")) {
      const parts = row.dataset.field.split(".").slice(1);
      let at = out;
      for (const part of parts.slice(0, -1)) at = at[part] ??= {};
      at[parts[parts.length - 1]] = valueOf(row);
    }
    return out;
  }

  function clearErrors(container) {
    for (const row of container.querySelectorAll(".field.invalid")) {
      row.classList.remove("invalid");
      row.querySelector(".field-error").textContent = "";
    }
  }

  // the API's error beside its field ("campaign.window.holidays[0]" → that list's row); false
  // when no field of the form is it
  function showError(container, field, message) {
    const base = (field || "").replace(/\[\d+\]$/, "");
    const row = [...container.querySelectorAll(".field")].find((r) => r.dataset.field === base);
    if (!row) return false;
    row.classList.add("invalid");
    row.querySelector(".field-error").textContent = message;
    const el = row.querySelector("input, textarea");
    if (el) el.focus();
    return true;
  }

  window.campaignFields = { render, read, clearErrors, showError, label };
})();
