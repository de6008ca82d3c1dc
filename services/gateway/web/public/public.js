// The public figures page: GET /v1/public/figures, no login; aggregates only.
"use strict";

const WORDS = {
  zh: { title: "旅游投诉公开数据", region: "地区", from: "起始月", to: "截止月", show: "查询",
    note: "仅含汇总数字：不含投诉内容与任何个人信息。月份按北京时间计。", settled: "入驻商户", received_total: "收到投诉",
    per_month: "每月投诉", month: "月份", received: "收到", resolved: "办结", minutes: "平均办结时长（分钟）",
    compensation: "先行赔付（元）", "error.bad_period": "截止月不能早于起始月，且期间不能超过允许的长度。",
    "error.unknown_region": "没有这个地区。", "error.network": "无法连接服务器，请稍后再试。",
    "error.other": "查询失败，请稍后再试。" },
  en: { title: "Tourism complaints: open figures", region: "Region", from: "From", to: "To", show: "Show",
    note: "Aggregates only: no complaint text, no personal data. Months in Asia/Shanghai time.",
    settled: "Merchants settled in", received_total: "Complaints received", per_month: "Complaints per month",
    month: "Month", received: "Received", resolved: "Resolved", minutes: "Avg. minutes",
    compensation: "Paid out (yuan)", "error.bad_period": "The last month must not be before the first, nor the period too long.",
    "error.unknown_region": "No such region.", "error.network": "The server cannot be reached; try again shortly.",
    "error.other": "The figures could not be shown; try again shortly." },
};
const t = (key) => window.Lang.t(key);

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== false) el.setAttribute(k, v);
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}
const month = (d) => new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit" })
  .format(d).slice(0, 7);

class Problem extends Error {
  constructor(code) { super(code); this.code = code; }
}

async function getJson(path) {
  let response;
  try {
    response = await fetch(path, { headers: { Accept: "application/json",
                                              "Accept-Language": window.Lang.current === "zh" ? "zh-CN" : "en" } });
  } catch (e) {
    throw new Problem("network");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Problem(body.code || "other");
  return body;
}

// A problem in the reader's language, by its stable code; the code stays on the element for support.
function showProblem(e) {
  const code = e instanceof Problem ? e.code : "other";
  const key = `error.${code}` in WORDS.zh ? `error.${code}` : "error.other";
  document.getElementById("message").replaceChildren(h("div", { class: "message error", "data-code": code }, t(key)));
}

let last = null;
let regions = [];

// The regions by name in the reader's language (intake's catalogue), the chosen one kept; at first the
// platform's default region (the one the catalogue marks `default`: Hainan).
function fillRegions(select) {
  const chosen = select.value || (regions.find((r) => r.default) || {}).code;
  select.replaceChildren(...regions.map((r) => h("option", { value: r.code, selected: r.code === chosen || undefined },
    window.Lang.current === "zh" ? r.name : r.name_en || r.name)));
}

function render(f) {
  const rows = f.months.map((m) => h("tr", {}, h("td", {}, m.month), h("td", {}, m.received), h("td", {}, m.resolved),
    h("td", {}, m.average_handling_minutes), h("td", {}, (m.compensation_paid_fen / 100).toFixed(2))));
  document.getElementById("figures").replaceChildren(
    h("div", { class: "cards" },
      h("div", { class: "figure" }, h("div", { class: "value" }, f.merchants_settled), h("div", { class: "name" }, t("settled"))),
      h("div", { class: "figure" }, h("div", { class: "value" }, f.months.reduce((s, m) => s + m.received, 0)),
        h("div", { class: "name" }, t("received_total")))),
    h("div", { class: "card" }, h("h3", {}, `${f.region_name} ${t("per_month")}`),
      window.Charts.barChart(f.months.map((m) => ({ label: m.month, value: m.received })), { title: t("per_month") })),
    h("div", { class: "table-wrap" }, h("table", { id: "figures-table" },
      h("thead", {}, h("tr", {}, ["month", "received", "resolved", "minutes", "compensation"].map((k) => h("th", {}, t(k))))),
      h("tbody", {}, rows))));
}

async function show(form) {
  document.getElementById("message").replaceChildren();
  const query = new URLSearchParams({ region_code: form.region.value, from: form.from.value, to: form.to.value });
  try {
    last = await getJson(`/v1/public/figures?${query}`);
    render(last);
  } catch (e) {
    showProblem(e);
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  const form = document.getElementById("figures-form");
  window.Lang.setup(WORDS, () => { fillRegions(form.region); if (last) render(last); });
  const now = new Date();
  form.to.value = month(now);
  form.from.value = month(new Date(now.getFullYear(), now.getMonth() - 11, 15));
  try {
    regions = await getJson("/v1/regions");
    fillRegions(form.region);
  } catch (e) {
    showProblem(e);
  }
  form.addEventListener("submit", (ev) => { ev.preventDefault(); show(form); });
  show(form);
});
