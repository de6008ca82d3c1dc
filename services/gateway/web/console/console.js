// The officials' and merchant staff's console: one page, hash routes, the public API with the staff token.
// Every text from the server goes in through textContent (h() below), never as HTML.
"use strict";

const store = window.sessionStorage;
let lang = localStorage.getItem("lang") || "zh";
const t = (key) => (window.I18N[lang] || {})[key] ?? window.I18N.zh[key] ?? key;
// A value the API sends, in words (i18n.js); a value with no label yet shows as sent, and the Chinese-UI test
// (tests/e2e/test_chinese_ui.py) fails on it.
const labelOf = (prefix, value) => {
  if (value === null || value === undefined || value === "") return "—";
  const key = `${prefix}.${value}`;
  return t(key) === key ? String(value) : t(key);
};
const tState = (s) => labelOf("state", s);
const tKind = (k) => labelOf("timeline", k);
const tChannel = (c) => labelOf("channel", c);
const tRemedy = (r) => labelOf("remedy", r);
const tOutcome = (o) => labelOf("outcome", o);
const tIndustry = (i) => labelOf("industry", i);
const tRole = (r) => labelOf("role", r);
// Who did a step: the system in words; a person's or a unit's own name as recorded (never translated).
const actor = (e) => (e.actor_role === "service" || e.actor_name === "system" ? t("actor.system")
  : h("span", { translate: "no" }, e.actor_name || tRole(e.actor_role)));
const fileKind = (type) => t(type === "application/pdf" ? "file.pdf" : (type || "").startsWith("image/") ? "file.image" : "file.other");
const ZONE = "Asia/Shanghai";

// --- small DOM and format helpers -------------------------------------------------------------
// The case number people say on the phone (460200-20261206-0042); the API id stays in links only.
const caseNumber = (c) => c.case_number || c.id.slice(-8);

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}
const yuan = (fen) => (fen === null || fen === undefined) ? "—" : (fen / 100).toFixed(2);
const toFen = (text) => Math.round(parseFloat(text || "0") * 100);
const when = (iso) => iso ? new Date(iso).toLocaleString(lang === "zh" ? "zh-CN" : "en-GB",
  { timeZone: ZONE, dateStyle: "short", timeStyle: "short" }) : "—";
function shanghaiDay(date) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: ZONE }).format(date);  // YYYY-MM-DD
}
function message(text, kind = "error", code = "") {
  const box = document.getElementById("message");
  box.replaceChildren(text ? h("div", { class: `message ${kind}`, "data-code": code || undefined,
    title: code ? `${t("error.code")} ${code}` : undefined }, text) : "");
}

// --- the API ------------------------------------------------------------------------------------
class Problem extends Error {
  constructor(body, status) { super(body.detail || body.title || `HTTP ${status}`); this.body = body; this.status = status; }
}

async function api(method, path, body, { raw = false } = {}) {
  const headers = { Accept: "application/json", "Accept-Language": lang === "zh" ? "zh-CN" : "en" };
  const token = store.getItem("access_token");
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new Problem({ detail: t("error.network") }, 0);
  }
  if (response.status === 401 && token) {
    if (await refresh()) return api(method, path, body, { raw });
    logout(t("error.session"));
    throw new Problem({ detail: t("error.session") }, 401);
  }
  if (!response.ok) {
    let problem = { detail: `HTTP ${response.status}` };
    try { problem = await response.json(); } catch (e) { /* not JSON: keep the status */ }
    throw new Problem(problem, response.status);
  }
  if (raw) return response;
  return response.status === 204 ? null : response.json();
}

// One refresh at a time: requests that meet an expired token together share it. A refresh token is good
// once; sent twice, the gateway takes it for stolen and ends the session.
let refreshing = null;

function refresh() {
  if (!refreshing) refreshing = refreshOnce().finally(() => { refreshing = null; });
  return refreshing;
}

async function refreshOnce() {
  const token = store.getItem("refresh_token");
  if (!token) return false;
  const response = await fetch("/v1/auth/refresh", { method: "POST", headers: { "Content-Type": "application/json" },
                                                      body: JSON.stringify({ refresh_token: token }) });
  if (!response.ok) return false;
  saveSession(await response.json());
  return true;
}

function saveSession(pair) {
  store.setItem("access_token", pair.access_token);
  store.setItem("refresh_token", pair.refresh_token);
  store.setItem("account", JSON.stringify(pair.account));
}
const account = () => JSON.parse(store.getItem("account") || "null");

function logout(note) {
  const token = store.getItem("access_token");
  if (token) fetch("/v1/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${token}` } }).catch(() => {});
  store.clear();
  location.hash = "#/login";
  if (note) message(note, "info");
}

// Report a failed call where the user is looking: the problem's detail, never a stack trace.
async function attempt(fn) {
  try { message(""); return await fn(); } catch (e) {
    if (e instanceof Problem) message(e.message, "error", e.body.code);
    else { message(String(e.message || e)); console.error(e); }
    return undefined;
  }
}

// --- live deadline countdowns ----------------------------------------------------------------------
// A deadline still to meet reads "处置 剩余 12分30秒"; one missed reads "处置已超时 2小时15分", in red: a late
// case never shows time left.
function countdown(dueIso, kind) {
  return h("span", { class: "countdown", "data-due": dueIso || "", "data-kind": kind || "" });
}
function duration(seconds) {
  const d = Math.floor(seconds / 86400), hours = Math.floor((seconds % 86400) / 3600);
  const min = Math.floor((seconds % 3600) / 60), s = seconds % 60;
  const parts = d ? [[d, "unit.day"], [hours, "unit.hour"]] : hours ? [[hours, "unit.hour"], [min, "unit.minute"]]
    : [[min, "unit.minute"], [s, "unit.second"]];
  return parts.map(([n, unit]) => `${n}${t(unit)}`).join(lang === "zh" ? "" : " ");
}
function tick() {
  const now = Date.now();
  for (const el of document.querySelectorAll(".countdown")) {
    if (!el.dataset.due) { el.textContent = t("no_deadline"); continue; }
    const left = Math.round((new Date(el.dataset.due).getTime() - now) / 1000);
    const kind = el.dataset.kind ? t(`deadline.${el.dataset.kind}`) : "";
    el.textContent = t(left >= 0 ? "countdown.left" : "countdown.late").replace("{kind}", kind)
      .replace("{time}", duration(Math.abs(left))).trim();
    el.classList.toggle("late", left < 0);
  }
}
setInterval(tick, 1000);

// The overdue counter in the header, on every screen: open complaints past a deadline, a link to them.
async function refreshOverdueCounter() {
  const me = account();
  let counter = document.getElementById("overdue-counter");
  if (!counter) {
    counter = h("a", { id: "overdue-counter", href: "#/queue?overdue=true", class: "counter" });
    document.querySelector("header.top nav").after(counter);
  }
  if (!me) { counter.hidden = true; return; }
  try {
    const counts = await api("GET", "/v1/complaints/counts");
    counter.textContent = `${t("counter.overdue")} ${counts.overdue}`;
    counter.title = `${t("counter.open")} ${counts.open}`;
    counter.classList.toggle("none", counts.overdue === 0);
    counter.hidden = false;
  } catch (e) { counter.hidden = true; }
}
setInterval(() => { if (account()) refreshOverdueCounter(); }, 60_000);

// --- views ---------------------------------------------------------------------------------------
const view = () => document.getElementById("view");

function loginView(root) {
  document.querySelector("header.top").hidden = true;
  const form = h("form", { id: "login-form" },
    h("label", {}, t("login.username"), h("input", { name: "username", autocomplete: "username", required: true,
      translate: "no" })),
    h("label", {}, t("login.password"),
      h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    h("button", { type: "submit" }, t("login.submit")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    attempt(async () => {
      const pair = await api("POST", "/v1/auth/staff/login",
                             { username: data.get("username"), password: data.get("password") });
      if (pair.account.role === "consumer") throw new Problem({ detail: t("error.staff_only") }, 403);
      saveSession(pair);
      location.hash = "#/queue";
    });
  });
  root.replaceChildren(h("div", { class: "card login" }, h("h2", {}, t("login.title")), form));
}

const QUEUE_STATES = ["submitted", "accepted", "assigned", "returned", "responded", "escalated", "resolved", "closed",
                      "not_accepted", "withdrawn", "transferred"];

const QUEUE_FILTERS = ["q", "state", "overdue", "channel", "industry", "merchant_id", "received_from",
                       "received_to", "order"];

let industriesCache;
async function industryList() {
  industriesCache = industriesCache || await api("GET", "/v1/industries");
  return industriesCache;
}

// The deadline cell: a late case says which deadline it missed and by how much; another its next deadline.
function deadlineCell(c) {
  const d = c.deadlines;
  if (d.late_since) return countdown(d.late_since, (d.missed[0] || {}).kind);
  return d.next_deadline ? countdown(d.next_due_at, d.next_deadline) : t("no_deadline");
}

// Where a complaint came from: the named platform its region counts it by (智旅通投诉平台), else its channel.
const sourceOf = (c) => c.source_name || tChannel(c.channel);
// A handling unit by its short name, with its full name where the region's catalogue gives a longer one.
function unitText(u) {
  return u.full_name && u.full_name !== u.name ? `${u.name}（${u.full_name}）` : u.name;
}
const unitsOf = (regionCode) => (regionNames.get(regionCode) || {}).units || [];

function queueRow(c) {
  const late = Boolean(c.deadlines.late_since);
  return h("tr", { class: late ? "overdue" : "", "data-id": c.id },
    h("td", {}, h("a", { href: `#/complaints/${c.id}`, class: "case-number", translate: "no" }, caseNumber(c))),
    h("td", {}, c.merchant_name,
      c.unit ? h("div", { class: "row-unit muted", translate: "no", title: t("field.unit") }, c.unit.name) : null),
    h("td", {}, tState(c.state), " ", late ? c.deadlines.missed.map((m) => h("span", { class: "badge overdue" },
      `${t("overdue")}·${t(`deadline.${m.kind}`)}`)) : null),
    h("td", { class: "optional row-source", title: tChannel(c.channel) }, sourceOf(c)),
    h("td", { class: "optional" }, when(c.submitted_at)),
    h("td", {}, deadlineCell(c)));
}

async function queueView(root, params) {
  const query = new URLSearchParams({ limit: "50" });
  for (const name of QUEUE_FILTERS) if (params.get(name)) query.set(name, params.get(name));
  const [page, industries] = await Promise.all([api("GET", `/v1/complaints?${query}`), industryList()]);
  const value = (name) => params.get(name) || "";
  const select = (name, label, options) => h("label", {}, label, h("select", { name },
    h("option", { value: "" }, t("queue.all")),
    options.map(([v, text]) => h("option", { value: v, selected: v === value(name) }, text))));
  const filters = h("form", { class: "filters", id: "queue-filters", role: "search" },
    h("label", { class: "search" }, t("queue.search"), h("input", { name: "q", type: "search", value: value("q"),
      maxlength: "100", placeholder: t("queue.search_hint") })),
    select("state", t("queue.state"), QUEUE_STATES.map((s) => [s, tState(s)])),
    select("channel", t("col.channel"), window.CHANNEL_NAMES.map((c) => [c, tChannel(c)])),
    select("industry", t("merchants.industry"), industries.map((i) => [i.code, tIndustry(i.code)])),
    h("label", {}, t("queue.merchant_id"), h("input", { name: "merchant_id", value: value("merchant_id"),
      pattern: "[a-z]+_[0-9A-Za-z]+", size: "14" })),
    h("label", {}, t("queue.received_from"), h("input", { name: "received_from", type: "date",
      value: value("received_from") })),
    h("label", {}, t("queue.received_to"), h("input", { name: "received_to", type: "date",
      value: value("received_to") })),
    h("label", {}, t("queue.order_by"), h("select", { name: "order" },
      ["", "newest"].map((o) => h("option", { value: o, selected: o === value("order") }, t(`queue.order.${o || "urgency"}`))))),
    h("label", { class: "check" }, t("queue.overdue_only"),
      h("input", { type: "checkbox", name: "overdue", checked: value("overdue") === "true" })),
    h("button", { type: "submit" }, t("queue.refresh")));
  filters.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const name of QUEUE_FILTERS) {
      const el = filters.elements[name];
      if (name === "overdue") { if (el.checked) q.set(name, "true"); } else if (el.value.trim()) q.set(name, el.value.trim());
    }
    location.hash = `#/queue?${q}`;
  });
  // Past the service's cap the total is a lower bound: "10000+" (English groups its digits: "10,000+").
  const counted = page.total ?? page.items.length;
  const total = page.total_is_lower_bound
    ? t("queue.at_least").replace("{n}", lang === "zh" ? String(counted) : counted.toLocaleString("en-GB"))
    : counted;
  const body = h("tbody", {}, page.items.map(queueRow));
  const shown = h("span", { id: "queue-shown" });
  const more = h("button", { type: "button", class: "secondary", id: "queue-more" }, t("queue.more"));
  let cursor = page.next_cursor, count = page.items.length;
  const update = () => {
    shown.textContent = t("queue.shown").replace("{n}", count).replace("{total}", total);
    more.hidden = !cursor;
  };
  more.addEventListener("click", () => attempt(async () => {
    more.disabled = true;
    try {
      const next = await api("GET", `/v1/complaints?${query}&cursor=${encodeURIComponent(cursor)}`);
      body.append(...next.items.map(queueRow));
      cursor = next.next_cursor; count += next.items.length;
      update(); tick();
    } finally { more.disabled = false; }
  }));
  update();
  const summary = h("p", { class: "queue-summary", id: "queue-summary" },
    h("strong", { id: "queue-total" }, t("queue.total").replace("{total}", total)), " ",
    value("order") ? null : h("span", { class: "muted" }, t("queue.order")));
  root.replaceChildren(h("h2", {}, t("queue.title")), filters, summary,
    ...(page.items.length ? [h("div", { class: "table-wrap" }, h("table", { id: "queue" },
      h("thead", {}, h("tr", {}, ["col.id", "col.merchant", "col.state"].map((k) => h("th", {}, t(k))),
        h("th", { class: "optional" }, t("col.source")), h("th", { class: "optional" }, t("col.submitted")),
        h("th", {}, t("col.deadline")))),
      body)), h("p", { class: "queue-pager" }, shown, " ", more)] : [h("p", { class: "muted" }, t("queue.empty"))]));
}

// The forms of the lifecycle actions. Which of them the user may take on a complaint now comes from the service
// (the complaint's `actions`: their part in it and its state), which checks again when one is taken. Nothing
// is preselected where a choice carries weight (办结's outcome and fault); the dangerous ones ask first.
const OUTCOMES = ["refunded", "compensated", "mediated", "apologized", "explained", "merchant_not_liable", "unfounded", "other"];
const FAULTS = ["merchant", "consumer", "shared", "none", "undetermined"];
const NOT_ACCEPTED = ["duplicate", "out_of_scope", "insufficient_information"];
const EXTENSION_HOURS = [24, 48, 72, 120, 168];
const REPLY_HOURS = [4, 8, 24, 48, 72];
const hoursLabel = (n) => (n % 24 ? `${n}${t("unit.hour")}` : `${n / 24}${t("unit.day")}`).trim();
const COMPLAINT_ACTIONS = {
  "intake-decisions": { fields: [{ name: "accept", kind: "bool", value: true },
    { name: "reason", kind: "select", options: NOT_ACCEPTED, blank: true, label: (v) => t(`not_accepted.${v}`) },
    { name: "note", kind: "text" }],
    confirm: (body) => body.accept ? null : [t("confirm.not_accepted"), `${t("field.reason")}：${body.reason ? t(`not_accepted.${body.reason}`) : "—"}`] },
  "assignments": { fields: [{ name: "kind", kind: "select", options: ["unit", "merchant"], label: (v) => t(`kind.${v}`) },
                            { name: "unit_id", kind: "unit", showIf: ["kind", "unit"] },
                            { name: "note", kind: "text" }] },
  "responses": { fields: [{ name: "message", kind: "textarea", required: true },
                          { name: "offered_refund_fen", kind: "yuan", label: "field.offered_refund", cap: true }] },
  "dispatch-returns": { fields: [{ name: "reason", kind: "textarea", required: true }],
    confirm: (body) => [t("confirm.dispatch-returns"), `${t("field.reason")}：${body.reason}`] },
  "extension-requests": { fields: [
    { name: "extend_hours", kind: "select", options: EXTENSION_HOURS, blank: true, required: true, number: true,
      label: hoursLabel, text: "field.extend_hours" },
    { name: "reason", kind: "textarea", required: true }] },
  "extension-decisions": { fields: [
    { name: "approve", kind: "select", options: ["true", "false"], blank: true, required: true, boolean: true,
      label: (v) => t(`extension.decision.${v}`), text: "field.extension_decision" },
    { name: "note", kind: "textarea" }] },
  "supervision-notices": { fields: [{ name: "note", kind: "textarea", required: true, text: "field.supervision_note" },
    { name: "reply_within_hours", kind: "select", options: REPLY_HOURS, blank: true, required: true, number: true,
      label: hoursLabel, text: "field.reply_within" }] },
  "supervision-replies": { fields: [{ name: "message", kind: "textarea", required: true, text: "field.supervision_reply" }] },
  "transfers": { fields: [{ name: "region_code", kind: "region", required: true }, { name: "reason", kind: "textarea", required: true }],
    confirm: (body, ctx) => [t("confirm.transfers").replace("{region}", regionName(body.region_code)),
                             `${t("field.reason")}：${body.reason}`] },
  "escalations": { fields: [{ name: "reason", kind: "textarea", required: true }] },
  "resolutions": { fields: [
    { name: "outcome", kind: "select", options: OUTCOMES, blank: true, required: true, label: tOutcome },
    { name: "at_fault", kind: "select", options: FAULTS, blank: true, required: true, label: (v) => t(`fault.${v}`) },
    { name: "amount_refunded_fen", kind: "yuan", label: "field.refunded", cap: true },
    { name: "note", kind: "textarea" }],
    confirm: (body) => [t("confirm.resolutions"), `${t("field.outcome")}：${tOutcome(body.outcome)}`,
      `${t("field.at_fault")}：${t(`fault.${body.at_fault}`)}`, `${t("field.refunded")}：${yuan(body.amount_refunded_fen || 0)}`] },
  "closures": { fields: [{ name: "note", kind: "textarea" }], confirm: () => [t("confirm.closures")] },
  "merges": { fields: [{ name: "into", kind: "text", required: true, placeholder: "460200-20261206-0042",
                         text: "field.merge_into" }, { name: "reason", kind: "textarea", required: true }],
    confirm: (body, ctx) => [t("confirm.merges").replace("{this}", caseNumber(ctx.c)).replace("{into}", body.into),
                             `${t("field.reason")}：${body.reason}`] },
  "reopenings": { fields: [{ name: "reason", kind: "textarea", required: true }],
    confirm: (body) => [t("confirm.reopenings"), `${t("field.reason")}：${body.reason}`] },
  "callback-visits": { fields: [{ name: "reached", kind: "bool", value: true }, { name: "satisfied", kind: "bool", value: true },
                                { name: "note", kind: "textarea" }] },
  // A public-opinion notice (涉旅信息通报单) that repeats a complaint: picked by its case number, or from the
  // possible links flagged on the notice; looked up first, so the confirmation says what it is.
  "notice-links": { fields: [
    { name: "complaint", kind: "case", required: true, text: "field.notice_repeats", placeholder: "530103-20210108-0001",
      suggest: (c) => (c.possible_links || []).filter((l) => l.state !== "dismissed").map((l) => [
        l.case_number || l.complaint_id, `${tChannel(l.channel)} · ${t("links.similarity")} ${Math.round(l.similarity * 100)}%`]) },
    { name: "note", kind: "textarea" }],
    prepare: async (body, ctx) => {
      ctx.target = await findComplaint(body.complaint);
      return { complaint_id: ctx.target.id, note: body.note };
    },
    confirm: (body, { c, target }) => [
      t("confirm.notice-links").replace("{this}", caseNumber(c)).replace("{into}", caseNumber(target)),
      `${t("field.source")}：${sourceOf(target)} · ${target.merchant_name} · ${tState(target.state)}`,
      c.replied_at ? null : t("confirm.notice_still_reply"), body.note ? `${t("field.note")}：${body.note}` : null] },
  // The region's report back to the center that sent the notice: once, by its deadline (or recorded as late).
  "notice-replies": { fields: [{ name: "note", kind: "textarea", required: true, text: "field.notice_reply" },
    { name: "replied_at", kind: "moment", text: "field.replied_at" }],
    intro: (c) => h("p", { class: "notice-deadline" }, noticeDeadline(c)),
    confirm: (body, { c }) => {
      const late = Boolean(c.reply_by) && new Date(body.replied_at || Date.now()) > new Date(c.reply_by);
      return [t("confirm.notice-replies"), `${t("notice.reply_by")}：${when(c.reply_by)}`,
        t(late ? "notice.will_be_late" : "notice.will_be_in_time"), `${t("field.notice_reply")}：${body.note}`];
    } },
};
const FIELD_LABELS = { accept: "field.accept", note: "field.note", kind: "field.kind", message: "field.message",
  region_code: "field.region", reason: "field.reason", outcome: "field.outcome", at_fault: "field.at_fault",
  reached: "field.reached", satisfied: "field.satisfied", unit_id: "field.unit" };

// What the service's refusals mean, in the console's words; anything else shows its detail and code.
const ACTION_PROBLEMS = ["invalid_transition", "action_not_allowed", "refund_above_amount_involved",
  "extension_pending", "no_pending_extension", "deadline_already_missed", "supervision_already_open",
  "no_open_supervision", "merge_into_itself", "merge_target_not_found", "link_already_decided",
  "compensation_already_requested"];
async function attemptAction(fn) {
  try { message(""); return await fn(); } catch (e) {
    const code = e instanceof Problem ? e.body.code : null;
    if (ACTION_PROBLEMS.includes(code)) message(`${t(`problem.${code}`)} (${code})`);
    else if (e instanceof Problem) message(`${e.message}${code ? ` (${code})` : ""}`);
    else { message(String(e.message || e)); console.error(e); }
    return undefined;
  }
}

// A confirmation in the page (a <dialog>, so it shows in screenshots and works on a phone): what will happen,
// what was entered; optionally a note to go with it. Resolves to { ok, note }.
function confirmDialog(title, lines, { okLabel, note = false, danger = true } = {}) {
  const noteInput = note ? h("textarea", { name: "dialog-note", "aria-label": t("field.note") }) : null;
  const ok = h("button", { type: "button", class: danger ? "danger" : "", "data-choice": "ok" }, okLabel || t("confirm.ok"));
  const cancel = h("button", { type: "button", class: "secondary", "data-choice": "cancel" }, t("action.cancel"));
  const dialog = h("dialog", { class: "confirm", id: "confirm-dialog", "aria-labelledby": "confirm-title" },
    h("h3", { id: "confirm-title" }, title), lines.filter(Boolean).map((line) => h("p", {}, line)),
    noteInput ? h("label", {}, t("field.note"), noteInput) : null, h("div", { class: "actions" }, cancel, ok));
  message("");  // what an earlier step said is not what this one asks
  document.body.append(dialog);
  dialog.showModal();
  return new Promise((resolve) => {
    const done = (yes) => {
      dialog.close(); dialog.remove();
      resolve({ ok: yes, note: noteInput && noteInput.value.trim() ? noteInput.value.trim() : undefined });
    };
    ok.addEventListener("click", () => done(true));
    cancel.addEventListener("click", () => done(false));
    dialog.addEventListener("cancel", (ev) => { ev.preventDefault(); done(false); });  // Esc
  });
}

// A complaint by the case number as typed or read out (the queue's own lookup), or by the id a possible link names.
async function findComplaint(text) {
  const value = text.trim();
  if (/^cmp_\w+$/.test(value)) return api("GET", `/v1/complaints/${value}`);
  const page = await api("GET", `/v1/complaints?${new URLSearchParams({ case_number: value, limit: "1" })}`);
  if (!page.items.length) throw new Problem({ detail: t("notice.not_found").replace("{number}", value) }, 404);
  return page.items[0];
}

// A notice's reply deadline: when, and the time left or how late; once answered, when and whether in time.
function noticeDeadline(c) {
  if (c.replied_at) {
    const late = Boolean(c.reply_by) && new Date(c.replied_at) > new Date(c.reply_by);
    return [t("notice.replied").replace("{at}", when(c.replied_at)), " ",
      h("span", { class: `badge${late ? " overdue" : ""}`, id: "notice-replied" }, t(late ? "notice.late" : "notice.on_time"))];
  }
  if (!c.reply_by) return t("no_deadline");
  return [`${t("notice.reply_by")} ${when(c.reply_by)} · `, countdown(c.reply_by, "reply"),
    c.reply_overdue ? [" ", h("span", { class: "badge overdue" }, t("notice.overdue"))] : null];
}

// A moment typed in Beijing time (a datetime-local field) as the API takes it: Asia/Shanghai keeps +08:00 all year.
const shanghaiMoment = (value) => `${value}:00+08:00`;

function actionForm(base, action, spec, regions, done, c = null) {
  const inputs = spec.fields.map((f) => {
    const label = t(f.text || (typeof f.label === "string" ? f.label : FIELD_LABELS[f.name] || f.name));
    let input;
    if (f.kind === "bool") input = h("input", { type: "checkbox", name: f.name, checked: f.value });
    else if (f.kind === "select") input = h("select", { name: f.name, required: f.required },
      f.blank ? h("option", { value: "", selected: true }, t("choose")) : null,
      f.options.map((o) => h("option", { value: String(o) }, f.label(o))));
    // No region is preselected: a transfer's destination is chosen, never taken by default.
    else if (f.kind === "region") input = h("select", { name: f.name, required: true },
      h("option", { value: "", selected: true }, t("choose")), regions.map((r) => h("option", { value: r.code }, regionLabel(r))));
    // The complaint region's handling units; left at the default, the one its rules chose (or it has now).
    else if (f.kind === "unit") input = h("select", { name: f.name, translate: "no" },
      h("option", { value: "" }, c && c.unit ? t("unit.default").replace("{unit}", c.unit.name) : t("unit.default_none")),
      unitsOf(c && c.region_code).map((u) => h("option", { value: u.id }, unitText(u))));
    else if (f.kind === "case") {
      const choices = f.suggest && c ? f.suggest(c) : [];
      const list = choices.length ? h("datalist", { id: `${action}-${f.name}-choices` },
        choices.map(([value, text]) => h("option", { value }, text))) : null;
      input = [h("input", { name: f.name, required: f.required, placeholder: f.placeholder, autocomplete: "off",
        list: list ? list.id : undefined }), list];
    }
    else if (f.kind === "moment") input = h("input", { name: f.name, type: "datetime-local" });
    else if (f.kind === "textarea") input = h("textarea", { name: f.name, required: f.required });
    else if (f.kind === "yuan") input = h("input", { name: f.name, inputmode: "decimal", pattern: "\\d+(\\.\\d{1,2})?" });
    else input = h("input", { name: f.name, required: f.required, value: f.value, placeholder: f.placeholder });
    return h("label", {}, label, input);
  });
  const form = h("form", { class: "action-form inline", "data-action": action }, spec.intro && c ? spec.intro(c) : null,
    inputs, h("button", { type: "submit" }, t("action.submit")),
    h("button", { type: "button", class: "secondary", onclick: () => form.remove() }, t("action.cancel")));
  // A field that applies to one choice of another (the unit, when assigning to a unit) shows with that choice only.
  const sync = () => {
    for (const f of spec.fields.filter((x) => x.showIf)) {
      const on = form.elements[f.showIf[0]].value === f.showIf[1], el = form.elements[f.name];
      el.disabled = !on;
      el.closest("label").style.display = on ? "" : "none";
    }
  };
  form.addEventListener("change", sync);
  sync();
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    let body = {};
    for (const f of spec.fields) {
      const el = form.elements[f.name];
      if (el.disabled) continue;
      if (f.kind === "bool") body[f.name] = el.checked;
      else if (f.kind === "moment") { if (el.value) body[f.name] = shanghaiMoment(el.value); }
      else if (f.kind === "yuan") { if (el.value) body[f.name] = toFen(el.value); }
      else if (f.boolean) { if (el.value) body[f.name] = el.value === "true"; }
      else if (f.number) { if (el.value) body[f.name] = Number(el.value); }
      else if (el.value.trim()) body[f.name] = el.value.trim();
    }
    // No refund above the amount the complaint is about (the service refuses it too).
    const capped = spec.fields.find((f) => f.cap && body[f.name] !== undefined);
    if (capped && c && c.amount_involved_fen && body[capped.name] > c.amount_involved_fen) {
      message(`${t("problem.refund_above_amount_involved")} (${yuan(c.amount_involved_fen)})`);
      return;
    }
    const ctx = { c, regions };
    if (spec.prepare) {
      body = await attemptAction(() => spec.prepare(body, ctx));
      if (!body) return;
    }
    const lines = spec.confirm ? spec.confirm(body, ctx) : null;
    if (lines) {
      const answer = await confirmDialog(t("confirm.title").replace("{action}", t(`action.${action}`)), lines,
        { okLabel: t(`action.${action}`) });
      if (!answer.ok) return;
    }
    const run = async () => { await api("POST", `${base}/${action}`, body); await done(); message(t("done"), "info"); };
    if (c) await attemptAction(run); else await attempt(run);
  });
  return form;
}

async function complaintView(root, id) {
  const base = `/v1/complaints/${id}`;
  const me = account();
  const staff = ["official", "admin"].includes(me.role);
  const [c, timeline, evidence, regions, extensions, notices] = await Promise.all([
    api("GET", base), api("GET", `${base}/timeline`), api("GET", `${base}/evidence`), regionList(),
    api("GET", `${base}/extension-requests`).catch(() => []),
    staff ? api("GET", `${base}/supervision-notices`).catch(() => []) : []]);
  await knowRegions([c.region_code, c.transferred_from, ...notices.flatMap((n) => [n.from_region, n.to_region])]);
  // The case this one is worked as, by its case number (asked for: this complaint knows only its id).
  const original = c.duplicate_of ? await api("GET", `/v1/complaints/${c.duplicate_of}`).catch(() => null) : null;
  // A linked case by its case number, else by the tail of its id (a whole id is one unbreakable word: it would
  // push a phone's screen sideways).
  const numberOf = (id) => (original && original.id === id && original.case_number)
    || ((c.links || []).find((l) => l.complaint_id === id) || {}).case_number || `…${id.slice(-8)}`;
  const links = [c.duplicate_of && [t("field.duplicate_of"), c.duplicate_of, numberOf(c.duplicate_of)],
                 c.transferred_from && [t("field.transferred_from"), regionName(c.transferred_from)],
                 ...(c.links || []).map((l) => [t("field.linked_case"), l.complaint_id, numberOf(l.complaint_id)])].filter(Boolean);
  const facts = [
    [t("col.state"), `${tState(c.state)}${c.deadlines.late_since ? ` · ${t("overdue")}` : ""}`],
    [t("col.merchant"), c.merchant_name], [t("col.channel"), tChannel(c.channel)],
    [t("field.source"), h("span", { id: "source", translate: "no" }, sourceOf(c))], [t("col.region"), regionName(c.region_code)],
    [t("field.description"), c.description], [t("field.amount_involved"), yuan(c.amount_involved_fen)],
    [t("field.remedy"), tRemedy(c.remedy)], [t("field.contact"), contactFact(base, c, me)],
    [t("field.unit"), h("span", { id: "unit", translate: "no" }, c.unit ? unitText(unitsOf(c.region_code)
      .find((u) => u.id === c.unit.id) || c.unit) : "—")],
    [t("field.assignee"), c.assignee ? c.assignee.name : "—"], [t("col.submitted"), when(c.submitted_at)],
    [t("field.outcome"), c.outcome ? tOutcome(c.outcome) : "—"],
    [t("field.at_fault"), c.at_fault ? t(`fault.${c.at_fault}`) : "—"], [t("field.refunded"), yuan(c.amount_refunded_fen)],
  ];
  if (c.not_accepted_reason) facts.splice(1, 0, [t("field.not_accepted_reason"), t(`not_accepted.${c.not_accepted_reason}`)]);
  // A channel's own order number and times (a 12345 work order): officials look cases up by them.
  if (c.external_id) facts.splice(3, 0, [t("field.external_id"), h("span", { translate: "no" }, c.external_id)]);
  if (c.channel === "public_opinion") facts.push([t("notice.reply"), h("span", { id: "notice-reply" }, noticeDeadline(c))]);
  if (c.dispatched_at) facts.push([t("field.dispatched"), when(c.dispatched_at)]);
  if (c.arrived_at) facts.push([t("field.arrived"), when(c.arrived_at)]);
  // The merchant's reply and the refund it offered stay on the case once it has replied.
  if (c.response_text || c.offered_refund_fen !== null && c.offered_refund_fen !== undefined) {
    facts.push([t("field.response"), c.response_text || "—"],
               [t("field.offered_refund"), h("span", { id: "offered-refund" }, yuan(c.offered_refund_fen))]);
  }
  const actions = h("div", { class: "actions" });
  const forms = h("div", {});
  for (const action of c.actions || []) {
    const spec = COMPLAINT_ACTIONS[action];
    if (!spec) continue;  // a tourist's own step, or one shown where it belongs (possible links)
    actions.append(h("button", { type: "button", "data-action": action, onclick: () => {
      forms.replaceChildren(actionForm(base, action, spec, regions, () => route(), c));
      tick();  // a deadline in the form counts down from the start
    } }, t(`action.${action}`)));
  }
  root.replaceChildren(
    h("p", {}, h("a", { href: "#/queue" }, `← ${t("complaint.back")}`)),
    h("h2", {}, `${t("complaint.title")} `, h("span", { class: "case-number", translate: "no" }, caseNumber(c))),
    h("div", { class: "card", id: "deadlines" }, h("h3", {}, t("complaint.deadlines")), deadlineList(c)),
    h("div", { class: "card", id: "complaint-actions" }, h("h3", {}, t("complaint.actions")),
      actions.childElementCount ? actions : h("p", { class: "muted" }, t("complaint.none")), forms),
    possibleLinksCard(base, c),
    sideTracksCard(extensions, notices, regions),
    h("div", { class: "grid2" },
      h("div", { class: "card" }, h("h3", {}, t("complaint.facts")),
        h("dl", { class: "facts" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]))),
      h("div", { class: "card" }, h("h3", {}, t("complaint.timeline")),
        h("ol", { class: "timeline", id: "timeline" }, timeline.map((e) => h("li", { "data-kind": e.kind },
          h("span", { class: "when" }, when(e.at)), " ", tKind(e.kind), e.state_to ? ` → ${tState(e.state_to)}` : "",
          " · ", actor(e), e.note ? h("div", {}, e.note) : null))))),
    await revealRecords(base, c, me),
    await window.Compensation.complaintCard(c, me),
    h("div", { class: "grid2" },
      h("div", { class: "card" }, h("h3", {}, t("complaint.evidence")),
        evidence.length ? h("ul", { id: "evidence" }, evidence.map((e) => h("li", {}, h("button", { type: "button",
          class: "secondary", translate: "no", onclick: () => attempt(() => openBlob(`${base}/evidence/${e.id}`, e.filename)) },
          e.filename), ` ${fileKind(e.content_type)}，${Math.ceil(e.size_bytes / 1024)} ${t("unit.kb")}`)))
          : h("p", { class: "muted" }, t("complaint.none"))),
      h("div", { class: "card", id: "linked-cases" }, h("h3", {}, t("complaint.links")),
        links.length ? h("ul", {}, links.map(([k, v, number]) => h("li", {}, `${k}：`,
          v.startsWith("cmp_") ? h("a", { href: `#/complaints/${v}` }, number || v) : v)))
          : h("p", { class: "muted" }, t("complaint.none")))));
}

// Other accounts' complaints that look like this one (the same contact phone and merchant, a similar story):
// officials confirm one is the same case, which merges the later into the earlier, or dismiss it.
function possibleLinksCard(base, c) {
  if (!c.possible_links || !c.possible_links.length) return "";
  const mayDecide = (c.actions || []).includes("link-decisions");
  const items = c.possible_links.map((l) => {
    const other = l.case_number || l.complaint_id.slice(-8);
    const [later, earlier] = l.worked_as === c.id ? [other, caseNumber(c)] : [caseNumber(c), other];
    const decide = (confirm) => async () => {
      const lines = confirm ? [t("links.confirm_what").replace("{later}", later).replace("{earlier}", earlier),
                               t("links.confirm_told")]
        : [t("links.dismiss_what").replace("{other}", other)];
      const answer = await confirmDialog(t(confirm ? "links.confirm_title" : "links.dismiss_title"), lines,
        { okLabel: t(confirm ? "links.confirm" : "links.dismiss"), note: true, danger: confirm });
      if (!answer.ok) return;
      await attemptAction(async () => {
        await api("POST", `${base}/link-decisions`, { link_id: l.id, confirm, note: answer.note });
        await route(); message(t("done"), "info");
      });
    };
    return h("li", { "data-link": l.id, "data-state": l.state },
      h("span", { class: `badge link-${l.state}` }, t(`links.state.${l.state}`)), " ",
      h("a", { href: `#/complaints/${l.complaint_id}` }, other),
      ` · ${tChannel(l.channel)} · ${t("links.similarity")} ${Math.round(l.similarity * 100)}% · ${when(l.flagged_at)}`,
      l.decided_at ? h("div", { class: "muted" }, `${when(l.decided_at)} · ${l.decided_by_name || "—"}${l.note ? ` · ${l.note}` : ""}`) : null,
      l.state === "suggested" && mayDecide ? h("div", { class: "actions" },
        h("button", { type: "button", "data-decision": "confirm", onclick: decide(true) }, t("links.confirm")),
        h("button", { type: "button", class: "secondary", "data-decision": "dismiss", onclick: decide(false) }, t("links.dismiss")))
        : null);
  });
  return h("div", { class: "card", id: "possible-links" }, h("h3", {}, t("links.title")),
    h("p", { class: "muted" }, t("links.hint")), h("ul", { class: "possible-links" }, items));
}

// The handler's extension requests (延期) and the province's supervision notices (督办) with the city's replies.
function sideTracksCard(extensions, notices, regions) {
  if (!extensions.length && !notices.length) return "";
  const ext = extensions.map((x) => h("li", { "data-extension": x.id, "data-state": x.state },
    h("span", { class: `badge extension-${x.state}` }, t(`extension.state.${x.state}`)), " ",
    `${t("field.extend_hours")} ${hoursLabel(x.extend_hours)} · ${x.reason} · ${x.requested_by_name || "—"} ${when(x.requested_at)}`,
    x.state === "approved" ? h("div", {}, `${t("extension.moved")} ${when(x.due_before)} → ${when(x.due_after)}`) : null,
    x.decided_by_name ? h("div", { class: "muted" }, `${x.decided_by_name} ${when(x.decided_at)}${x.decision_note ? ` · ${x.decision_note}` : ""}`) : null));
  const sup = notices.map((n) => h("li", { "data-notice": n.id, "data-state": n.state },
    h("span", { class: `badge${n.overdue ? " overdue" : ""}` }, t(n.overdue ? "supervision.overdue" : `supervision.state.${n.state}`)), " ",
    `${regionName(n.from_region)} → ${regionName(n.to_region)} · ${n.note} · ${n.issued_by_name || "—"} ${when(n.issued_at)}`,
    h("div", {}, `${t("supervision.reply_by")} ${when(n.reply_by)} `, n.state === "open" ? countdown(n.reply_by, "") : null),
    n.reply ? h("div", {}, `${t("supervision.reply")}：${n.reply} · ${n.replied_by_name || "—"} ${when(n.replied_at)}`,
      n.replied_in_time === false ? h("span", { class: "badge overdue" }, t("supervision.late")) : null) : null));
  return h("div", { class: "grid2", id: "side-tracks" },
    ext.length ? h("div", { class: "card", id: "extensions" }, h("h3", {}, t("extension.title")), h("ul", {}, ext)) : null,
    sup.length ? h("div", { class: "card", id: "supervision" }, h("h3", {}, t("supervision.title")), h("ul", {}, sup)) : null);
}

// Missed deadlines, each with when it fell due and how late it is; then the next deadline still to meet.
function deadlineList(c) {
  const d = c.deadlines, open = !["resolved", "closed", "not_accepted", "withdrawn"].includes(c.state);
  const items = d.missed.map((m) => h("li", { class: "missed" }, `${t(`deadline.${m.kind}`)}${t("deadline.due")} `,
    when(m.due_at), " · ", open ? countdown(m.due_at, m.kind) : t("deadline.was_missed")));
  if (d.next_deadline) items.push(h("li", {}, `${t(`deadline.${d.next_deadline}`)}${t("deadline.due")} `,
    when(d.next_due_at), " · ", countdown(d.next_due_at, d.next_deadline)));
  // The settlement deadline too while an earlier one is next: an approved extension moves it.
  if (open && d.settle_by && d.next_deadline && d.next_deadline !== "settle" && !d.overdue.includes("settle")) {
    items.push(h("li", { id: "settle-by" }, `${t("deadline.settle")}${t("deadline.due")} `, when(d.settle_by)));
  }
  return items.length ? h("ul", { class: "deadlines" }, items) : t("no_deadline");
}

// The complainant's contact: masked, and for the handling official a deliberate, recorded reveal to call back.
function contactFact(base, c, me) {
  const masked = [c.contact_name, c.contact_phone].filter(Boolean).join(" ") || "—";
  const cell = h("span", { id: "contact" }, masked);
  if (!["official", "admin"].includes(me.role) || !c.contact_phone) return cell;
  const button = h("button", { type: "button", class: "secondary small", id: "reveal-contact" }, t("contact.reveal"));
  button.addEventListener("click", () => attempt(async () => {
    const full = await api("POST", `${base}/contact-reveals`, { purpose: t("contact.purpose") });
    cell.replaceChildren(full.contact_name ? `${full.contact_name} ` : "",
      h("a", { href: `tel:${full.contact_phone}`, id: "contact-phone" }, full.contact_phone),
      h("span", { class: "muted" }, ` · ${t("contact.recorded")}`));
  }));
  cell.append(" ", button);
  return cell;
}

// Who saw the contact in full: for the supervising officials (of a region above the complaint's) and admins.
async function revealRecords(base, c, me) {
  const supervising = me.role === "admin" || (me.role === "official" && me.region_code && me.region_code !== c.region_code);
  if (!supervising) return "";
  let records;
  try { records = await api("GET", `${base}/contact-reveals`); } catch (e) { return ""; }
  await knowRegions(records.map((r) => r.revealed_by_region));
  return h("div", { class: "card", id: "contact-reveals" }, h("h3", {}, t("contact.records")),
    records.length ? h("ul", {}, records.map((r) => h("li", {}, when(r.revealed_at), " · ",
      h("span", { translate: "no" }, r.revealed_by_name || r.revealed_by || "—"),
      r.revealed_by_region ? `（${regionName(r.revealed_by_region)}）` : "",
      r.purpose ? ` · ${r.purpose}` : ""))) : h("p", { class: "muted" }, t("complaint.none")));
}

async function openBlob(path, filename, { download = false } = {}) {
  const response = await api("GET", path, undefined, { raw: true });
  const url = URL.createObjectURL(await response.blob());
  const a = h("a", { href: url, target: "_blank", rel: "noopener", download: download ? filename : undefined });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// The print version and the code poster are pages of their own in a new tab: the gateway serves them under
// the same policy as the console (their styles and scripts are files), and they read the API with this
// console's session, asking it (their opener) to refresh an expired token.
function openPrintable(path) {
  window.open(path, "_blank");
}
window.consoleSession = { token: () => store.getItem("access_token"), refresh };

// Regions by name, from intake's catalogue (GET /v1/regions): whatever regions it serves, no list kept here.
let regionsCache, regionNames = new Map();
async function regionList() {
  if (!regionsCache) {
    regionsCache = await api("GET", "/v1/regions");
    regionNames = new Map(regionsCache.map((r) => [r.code, r]));
  }
  return regionsCache;
}
// A code outside that list (a merchant elsewhere) is looked up one by one, where the catalogue answers for it.
async function knowRegions(codes) {
  await regionList();
  const missing = [...new Set(codes.filter((code) => code && !regionNames.has(code)))];
  await Promise.all(missing.map((code) => api("GET", `/v1/regions/${encodeURIComponent(code)}`)
    .then((r) => regionNames.set(code, r), () => regionNames.set(code, null))));
}
const regionLabel = (r) => (lang === "zh" ? r.name : r.name_en || r.name);
// A region's name once knowRegions() has answered (every view that shows regions awaits it); else its code.
const regionName = (code) => (regionNames.get(code) ? regionLabel(regionNames.get(code)) : code || "—");

async function returnsView(root) {
  const page = await api("GET", "/v1/returns?limit=50");
  const me = account();
  const rows = page.items.map((r) => {
    const open = r.state === "requested" || r.state === "escalated";
    const buttons = h("div", { class: "actions" });
    const base = `/v1/returns/${r.id}`;
    const specs = {};
    if (open) {
      specs.refunds = { fields: [{ name: "amount_refunded_fen", kind: "yuan", label: "field.refunded" }] };
      specs.exchanges = { fields: [{ name: "note", kind: "textarea" }] };
      if (me.role !== "merchant_staff") specs.rejections = { fields: [{ name: "note", kind: "textarea", required: true }] };
    } else if (me.role === "official" || me.role === "admin") {
      // The follow-up visit (回访) of a concluded request: the report's returns paragraph is said from these.
      specs.visits = { fields: [{ name: "satisfied", kind: "bool", value: true, label: "field.visit_satisfied" },
        r.state === "withdrawn" ? { name: "withdrawal_induced", kind: "bool", value: false, label: "field.withdrawal_induced" } : null,
        { name: "shirking_reported", kind: "bool", value: false, label: "field.shirking_reported" },
        { name: "note", kind: "textarea" }].filter(Boolean),
        prepare: (body) => ({ withdrawal_induced: false, ...body }) };
    }
    for (const [action, spec] of Object.entries(specs)) {
      buttons.append(h("button", { type: "button", class: "secondary", onclick: () =>
        buttons.replaceChildren(actionForm(base, action, spec, [], () => route())) }, t(`action.${action}`)));
    }
    const visit = r.visit ? h("div", { class: "muted small" }, [
      t(r.visit.satisfied ? "return.visit.satisfied" : "return.visit.unsatisfied"),
      r.visit.withdrawal_induced && t("return.visit.induced"), r.visit.shirking_reported && t("return.visit.shirking"),
    ].filter(Boolean).join(lang === "zh" ? "，" : ", ")) : "";
    return h("tr", { class: r.overdue ? "overdue" : "" },
      h("td", { translate: "no" }, r.id.slice(-8)), h("td", {}, r.merchant_name), h("td", {}, r.goods),
      h("td", {}, yuan(r.amount_fen)), h("td", {}, tState(r.state), r.overdue ? h("span", { class: "badge overdue" }, t("overdue")) : "", visit),
      h("td", {}, open ? countdown(r.refund_by, "refund") : when(r.concluded_at)), h("td", {}, buttons));
  });
  root.replaceChildren(h("h2", {}, t("returns.title")), page.items.length ? h("div", { class: "table-wrap" },
    h("table", { id: "returns" }, h("thead", {}, h("tr", {}, ["col.id", "col.merchant", "col.goods", "col.amount",
      "col.state", "col.refund_by", "complaint.actions"].map((k) => h("th", {}, t(k))))), h("tbody", {}, rows)))
    : h("p", { class: "muted" }, t("returns.empty")));
}

// Handling-time buckets: [from, to) in minutes and the key of their name.
const BUCKETS = [[0, 10, "bucket.lt10m"], [10, 30, "bucket.10_30m"], [30, 60, "bucket.30_60m"],
                 [60, 120, "bucket.1_2h"], [120, 1440, "bucket.2_24h"], [1440, 2880, "bucket.24_48h"],
                 [2880, Infinity, "bucket.gt48h"]];

async function reportsView(root, params) {
  const me = account();
  const regions = (await regionList()).filter((r) => me.role === "admin" || !me.region_code
    || r.code.startsWith(me.region_code.replace(/(00)+$/, "")));
  const today = new Date();
  const from = params.get("from") || shanghaiDay(new Date(today.getTime() - 6 * 86400_000));
  const to = params.get("to") || shanghaiDay(today);
  // The official's own region, else the platform's default one (the catalogue marks it), else the first.
  const opening = regions.find((r) => r.default) || regions[0];
  const region = params.get("region") || me.region_code || (opening && opening.code);
  const form = h("form", { class: "filters", id: "report-form" },
    h("label", {}, t("reports.region"), h("select", { name: "region" },
      regions.map((r) => h("option", { value: r.code, selected: r.code === region }, regionLabel(r))))),
    h("label", {}, t("reports.from"), h("input", { type: "date", name: "from", value: from })),
    h("label", {}, t("reports.to"), h("input", { type: "date", name: "to", value: to })),
    h("button", { type: "submit" }, t("reports.show")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    location.hash = `#/reports?${new URLSearchParams({ region: form.region.value, from: form.from.value, to: form.to.value })}`;
  });
  root.replaceChildren(h("h2", {}, t("reports.title")), form);
  if (!region) return;
  const query = new URLSearchParams({ region_code: region, from, to });
  // Compensation's own figures (paid, recovered, outstanding) where that service answers.
  const [r, comp] = await Promise.all([api("GET", `/v1/reports/complaints?${query}`),
    api("GET", `/v1/compensation/figures?${query.toString()}`).catch(() => null)]);
  const file = (format) => () => attempt(() => openBlob(`/v1/reports/complaints?${query}&format=${format}`,
    `complaints-${region}-${from}-${to}.${format}`, { download: true }));
  const figures = [["reports.received", r.received], ["reports.valid", r.valid], ["reports.not_accepted", r.not_accepted],
    ["reports.withdrawn", r.withdrawn], ["reports.transferred", r.transferred],
    ["reports.total_time", r.handling_time.total_text], ["reports.average_time", r.handling_time.average_text],
    ["reports.refunded", yuan(r.amount_refunded_fen)], ["reports.compensation", yuan(r.compensation_paid_fen)],
    ["funds.recovered", comp ? yuan(comp.recovered_fen) : "—"], ["reports.outstanding", comp ? yuan(comp.outstanding_fen) : "—"],
    ["reports.satisfaction", r.satisfaction_average ?? "—"], ["reports.returns", `${r.returns.received} / ${yuan(r.returns.amount_fen)}`]];
  const days = [];
  for (let d = new Date(`${from}T00:00:00Z`); shanghaiDay(d) <= to && days.length < 400; d = new Date(d.getTime() + 86400_000)) {
    days.push(d.toISOString().slice(0, 10));
  }
  const channels = [...new Set(r.by_day.map((x) => x.channel))];
  const labels = Object.fromEntries(r.by_channel.map((c) => [c.key, c.label]));
  const series = channels.map((ch) => ({ label: labels[ch] || ch,
    values: days.map((d) => (r.by_day.find((x) => x.day === d && x.channel === ch) || { count: 0 }).count) }));
  const distribution = BUCKETS.map(([lo, hi, key]) => ({ label: t(key),
    value: r.handled.filter((x) => x.minutes >= lo && x.minutes < hi).length }));
  const pct = (v) => v === null ? 0 : Math.round(v * 1000) / 10;
  // Labelled with the region's own deadlines (the report carries them): "3分钟内受理".
  const within = (s) => s % 3600 === 0 ? `${s / 3600}${t("unit.hour")}`
    : s % 60 === 0 ? `${s / 60}${t("unit.minutes")}` : `${s}${t("unit.second")}`;
  const sla = [["sla.accept", r.sla.accepted_within_deadline, r.sla.accept_seconds],
               ["sla.dispose", r.sla.disposed_within_deadline, r.sla.dispose_seconds],
               ["sla.settle", r.sla.settled_within_deadline, r.sla.settle_seconds]].map(([k, v, s]) => ({
                 label: t(k).replace("{time}", within(s)), value: pct(v), text: v === null ? "—" : `${pct(v)}%` }));
  const chart = (title, svg) => h("div", { class: "card" }, h("h3", {}, title), svg);
  root.append(
    h("div", { class: "actions" },
      h("button", { type: "button", class: "secondary", onclick: file("csv") }, t("reports.csv")),
      h("button", { type: "button", class: "secondary", onclick: file("xlsx") }, t("reports.xlsx")),
      h("button", { type: "button", class: "secondary", id: "report-print",
                    onclick: () => openPrintable(`/console/print.html?${query}`) }, t("reports.print"))),
    h("div", { class: "cards", id: "report-figures" }, figures.map(([k, v]) => h("div", { class: "figure" },
      h("div", { class: "value" }, v), h("div", { class: "name" }, t(k))))),
    h("div", { class: "card" }, h("p", { class: "paragraph", id: "report-text" }, r.text),
      r.notices_text ? h("p", { class: "paragraph" }, r.notices_text) : null,
      h("p", { class: "paragraph" }, r.returns_text)),
    h("div", { class: "grid2", id: "report-charts" },
      chart(t("reports.per_day"), window.Charts.stackedColumns(days, series, { title: t("reports.per_day") })),
      chart(t("reports.distribution"), window.Charts.barChart(distribution, { title: t("reports.distribution") })),
      chart(t("reports.sla"), window.Charts.barChart(sla, { max: 100, title: t("reports.sla") })),
      chart(t("reports.by_unit"), window.Charts.barChart(r.by_handling_unit.map((c) => ({ label: c.label, value: c.count })))),
      chart(t("reports.top_merchants"), window.Charts.barChart(r.top_merchants.map((c) => ({ label: c.label, value: c.count }))))));
}

async function fundsView(root) {
  const [funds, claims] = await Promise.all([api("GET", "/v1/funds"),
                                             api("GET", "/v1/claims?state=pending_approval&limit=50")]);
  await knowRegions(funds.map((f) => f.region_code));
  const claimRows = claims.items.map((c) => h("tr", {},
    h("td", { translate: "no" }, c.id.slice(-8)),
    h("td", { translate: "no" }, h("a", { href: `#/complaints/${c.complaint_id}` }, c.complaint_id.slice(-8))),
    h("td", {}, yuan(c.amount_fen)), h("td", {}, `${c.approvals.length} / ${c.approvals_needed}`),
    h("td", {}, h("a", { href: `#/claims/${c.id}` }, t("comp.decision")))));
  root.replaceChildren(h("h2", {}, t("funds.title")),
    h("div", { class: "card" }, h("h3", {}, t("funds.balances")), h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, ["col.region", "funds.balance", "funds.floor", "funds.paid", "funds.recovered"]
        .map((k) => h("th", {}, t(k))))),
      h("tbody", {}, funds.map((f) => h("tr", {}, h("td", {}, regionName(f.region_code)), h("td", {}, yuan(f.balance_fen)),
        h("td", {}, yuan(f.floor_fen)), h("td", {}, yuan(f.paid_out_fen)), h("td", {}, yuan(f.recovered_fen)))))))),
    h("div", { class: "card" }, h("h3", {}, t("funds.pending")), claims.items.length ? h("div", { class: "table-wrap" },
      h("table", {}, h("thead", {}, h("tr", {}, ["funds.claim", "col.id", "funds.amount", "funds.approvals", "complaint.actions"]
        .map((k) => h("th", {}, t(k))))), h("tbody", {}, claimRows))) : h("p", { class: "muted" }, t("funds.empty"))));
}

async function myMerchantView(root) {
  const id = account().merchant_id;
  const [m, credit, code] = await Promise.all([api("GET", `/v1/merchants/${id}`), api("GET", `/v1/credit/${id}`),
    api("GET", `/v1/merchants/${id}/code`).catch(() => null)]);
  const points = (n) => (n > 0 ? `+${n}` : String(n));
  const reasons = credit.reasons.filter((r) => r.count > 0 || r.points !== 0);
  root.replaceChildren(h("h2", {}, m.name),
    h("div", { class: "grid2" },
      h("div", { class: "card", id: "my-grade" }, h("h3", {}, t("mine.grade")),
        h("div", { class: "cards" },
          h("div", { class: "figure" }, h("div", { class: "value", id: "grade-value" }, credit.grade),
            h("div", { class: "name" }, t("merchants.grade"))),
          h("div", { class: "figure" }, h("div", { class: "value" }, credit.score), h("div", { class: "name" }, t("mine.score")))),
        h("p", { class: "muted" }, `${t("mine.grades")} · ${t("mine.updated")} ${when(credit.computed_at)}`),
        h("h3", {}, t("mine.reasons")),
        reasons.length ? h("div", { class: "table-wrap" }, h("table", { id: "grade-reasons" },
          h("thead", {}, h("tr", {}, ["mine.reason", "mine.count", "mine.points"].map((k) => h("th", {}, t(k))))),
          h("tbody", {}, reasons.map((r) => h("tr", {}, h("td", {}, r.label), h("td", {}, r.count),
            h("td", {}, points(r.points), r.capped ? ` (${t("mine.capped")})` : ""))))))
          : h("p", { class: "muted", id: "grade-reasons" }, t("mine.no_reasons"))),
      h("div", { class: "card", id: "my-code" }, h("h3", {}, t("mine.code")),
        code ? [h("p", {}, h("strong", { translate: "no" }, code.code), " · ", labelOf("code", code.state)),
                h("p", { class: "muted" }, t("mine.poster_hint")),
                code.state === "active" ? h("button", { type: "button", id: "print-poster",
                  onclick: () => openPrintable(`/console/poster.html?merchant=${encodeURIComponent(id)}`) },
                  t("mine.poster")) : null]
          : h("p", { class: "muted" }, t("mine.no_code")))));
}

async function merchantsView(root) {
  const official = ["official", "admin"].includes(account().role);
  const [page, pending] = await Promise.all([api("GET", "/v1/merchants?limit=100"),
    official ? api("GET", "/v1/merchants?status=pending&limit=100") : { items: [] }]);
  await knowRegions([...page.items, ...pending.items].map((m) => m.region_code));
  const review = (m, decision) => () => attempt(async () => {
    await api("POST", `/v1/merchants/${m.id}/reviews`, { decision }); await route(); message(t("done"), "info"); });
  const pendingRows = pending.items.map((m) => h("tr", {}, h("td", {}, m.name), h("td", { translate: "no" }, m.uscc || "—"),
    h("td", {}, regionName(m.region_code)), h("td", {}, tIndustry(m.industry)),
    h("td", {}, h("button", { type: "button", onclick: review(m, "approve") }, t("merchants.approve")), " ",
      h("button", { type: "button", class: "secondary", onclick: review(m, "reject") }, t("merchants.reject")))));
  const pendingTable = h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, ["merchants.name", "merchants.uscc", "col.region", "merchants.industry",
      "complaint.actions"].map((k) => h("th", {}, t(k))))), h("tbody", {}, pendingRows)));
  const reviewCard = official ? h("div", { class: "card", id: "pending-merchants" }, h("h3", {}, t("merchants.pending")),
    pending.items.length ? pendingTable : h("p", { class: "muted" }, t("merchants.none_pending"))) : null;
  root.replaceChildren(h("h2", {}, t("merchants.title")), reviewCard, h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, ["merchants.name", "merchants.uscc", "col.region", "merchants.industry",
      "merchants.grade", "merchants.program", "merchants.alliance"].map((k) => h("th", {}, t(k))))),
    h("tbody", { id: "live-merchants" }, page.items.map((m) => h("tr", {}, h("td", {}, m.name),
      h("td", { translate: "no" }, m.uscc || "—"), h("td", {}, regionName(m.region_code)), h("td", {}, tIndustry(m.industry)),
      h("td", { class: "grade" }, m.grade || "—"),
      h("td", {}, m.in_compensation_program ? t("yes") : t("no")),
      h("td", {}, m.in_integrity_alliance ? t("yes") : t("no"))))))));
}

// --- routing ---------------------------------------------------------------------------------------
const ROUTES = [
  [/^#\/queue$/, queueView], [/^#\/complaints\/([\w-]+)$/, (root, p, id) => complaintView(root, id)],
  [/^#\/returns$/, returnsView], [/^#\/reports$/, reportsView], [/^#\/funds$/, fundsView],
  [/^#\/merchants$/, merchantsView], [/^#\/mine$/, myMerchantView],
  // Advance compensation: compensation.js
  [/^#\/claims$/, (root, p) => window.Compensation.claimsView(root, p)],
  [/^#\/claims\/([\w-]+)$/, (root, p, id) => window.Compensation.claimView(root, id)],
  [/^#\/recoveries$/, (root, p) => window.Compensation.recoveriesView(root, p)],
  [/^#\/recoveries\/([\w-]+)$/, (root, p, id) => window.Compensation.recoveryView(root, id)],
];

function applyLanguage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.title = t("title");
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  document.getElementById("lang").value = lang;
}

// Each route renders into a fresh element that replaces the view only if no newer route started
// meanwhile: a slow answer never paints over the page the user has moved on to.
let generation = 0;

async function route() {
  const gen = ++generation, root = h("div");
  const show = () => { if (gen === generation) { view().replaceChildren(root); tick(); } };
  applyLanguage();
  const [path, search] = (location.hash || "#/queue").split("?");
  const me = account();
  if (!me || path === "#/login") { if (me) store.clear(); loginView(root); show(); return; }
  const header = document.querySelector("header.top");
  header.hidden = false;
  document.getElementById("who").replaceChildren(h("span", { translate: "no" }, me.display_name || me.id), ` · ${tRole(me.role)}`);
  refreshOverdueCounter();
  for (const a of header.querySelectorAll("nav a")) {
    a.classList.toggle("active", a.getAttribute("href") === path);
    a.hidden = a.dataset.roles ? !a.dataset.roles.split(" ").includes(me.role) : false;
  }
  // A page whose link this role does not have would only answer 403: go to the queue instead.
  if ([...header.querySelectorAll("nav a")].some((a) => a.hidden && a.getAttribute("href") === path)) {
    location.hash = "#/queue";
    return;
  }
  for (const [pattern, render] of ROUTES) {
    const match = path.match(pattern);
    if (match) {
      await attempt(() => render(root, new URLSearchParams(search || ""), ...match.slice(1)));
      show();
      return;
    }
  }
  location.hash = "#/queue";
}

window.addEventListener("hashchange", route);
document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("logout").addEventListener("click", () => logout());
  document.getElementById("lang").addEventListener("change", (ev) => {
    lang = ev.target.value; localStorage.setItem("lang", lang); route();
  });
  route();
});
