// The public figures page: GET /v1/public/figures, no login; aggregates only.
"use strict";

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== false) el.setAttribute(k, v);
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}
const month = (d) => new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit" })
  .format(d).slice(0, 7);

async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({ detail: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(`${body.detail || body.title}${body.code ? ` (${body.code})` : ""}`);
  return body;
}

async function show(form) {
  const box = document.getElementById("message");
  box.replaceChildren();
  const query = new URLSearchParams({ region_code: form.region.value, from: form.from.value, to: form.to.value });
  try {
    const f = await getJson(`/v1/public/figures?${query}`);
    const rows = f.months.map((m) => h("tr", {}, h("td", {}, m.month), h("td", {}, m.received), h("td", {}, m.resolved),
      h("td", {}, m.average_handling_minutes), h("td", {}, (m.compensation_paid_fen / 100).toFixed(2))));
    document.getElementById("figures").replaceChildren(
      h("div", { class: "cards" },
        h("div", { class: "figure" }, h("div", { class: "value" }, f.merchants_settled),
          h("div", { class: "name" }, "入驻商户 Merchants settled in")),
        h("div", { class: "figure" }, h("div", { class: "value" }, f.months.reduce((s, m) => s + m.received, 0)),
          h("div", { class: "name" }, "收到投诉 Complaints received"))),
      h("div", { class: "card" }, h("h3", {}, `${f.region_name} 每月投诉 Complaints per month`),
        window.Charts.barChart(f.months.map((m) => ({ label: m.month, value: m.received })))),
      h("div", { class: "table-wrap" }, h("table", { id: "figures-table" },
        h("thead", {}, h("tr", {}, ["月份 Month", "收到 Received", "办结 Resolved", "平均办结时长（分钟） Avg. minutes",
          "先行赔付（元） Compensation (yuan)"].map((x) => h("th", {}, x)))), h("tbody", {}, rows))));
  } catch (e) {
    box.replaceChildren(h("div", { class: "message error" }, e.message));
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  const form = document.getElementById("figures-form");
  const now = new Date();
  form.to.value = month(now);
  form.from.value = month(new Date(now.getFullYear(), now.getMonth() - 11, 15));
  try {
    const regions = await getJson("/v1/regions");
    form.region.replaceChildren(...regions.map((r) => h("option", { value: r.code }, `${r.name} ${r.code}`)));
  } catch (e) {
    document.getElementById("message").replaceChildren(h("div", { class: "message error" }, e.message));
  }
  form.addEventListener("submit", (ev) => { ev.preventDefault(); show(form); });
  show(form);
});
