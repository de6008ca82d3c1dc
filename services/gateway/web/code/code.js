// The page a scanned assured consumption code opens (/c/<code> redirects here): GET /v1/codes/<code>, no login.
"use strict";

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== false) el.setAttribute(k, v);
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

const BADGES = { integrity_alliance: "诚信商家联盟 Integrity alliance", advance_compensation: "先行赔付 Advance compensation",
  red_list: "红名单 Red list" };
const WARNINGS = { key_supervision: "重点关注名单 Under key supervision", dishonest: "严重失信主体名单 Seriously dishonest" };

async function show() {
  const code = decodeURIComponent(location.hash.slice(1));
  const box = document.getElementById("message");
  if (!/^[0-9A-Za-z]{6,16}$/.test(code)) {
    box.replaceChildren(h("div", { class: "message error" }, "请扫描商户展示的放心消费码。 Scan the code the merchant shows."));
    return;
  }
  const response = await fetch(`/v1/codes/${code}`, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({ detail: `HTTP ${response.status}` }));
  if (!response.ok) {
    box.replaceChildren(h("div", { class: "message error", id: "problem", "data-code": body.code || "" },
      `${body.detail || body.title}${body.code ? ` (${body.code})` : ""}`));
    return;
  }
  const f = body.figures || {};
  const share = f.responded_in_time + f.responded_late ? Math.round(100 * f.responded_in_time / (f.responded_in_time + f.responded_late)) + "%" : "—";
  document.getElementById("profile").replaceChildren(
    h("div", { class: "card" },
      h("h2", { id: "merchant-name" }, body.name),
      h("p", {}, body.address || ""),
      h("div", { class: "cards" },
        h("div", { class: "figure" }, h("div", { class: "value", id: "grade" }, body.grade || "—"), h("div", { class: "name" }, "信用等级 Grade")),
        h("div", { class: "figure" }, h("div", { class: "value" }, f.complaints ?? 0), h("div", { class: "name" }, `近 ${f.days} 天投诉 Complaints`)),
        h("div", { class: "figure" }, h("div", { class: "value" }, share), h("div", { class: "name" }, "按时响应 Answered in time")),
        h("div", { class: "figure" }, h("div", { class: "value" }, f.rating_average ?? "—"), h("div", { class: "name" }, "游客评分 Rating"))),
      h("ul", { id: "badges" }, body.badges.map((b) => h("li", {}, BADGES[b] || b))),
      body.warnings.length ? h("div", { class: "message error", id: "warnings" }, body.warnings.map((w) => WARNINGS[w] || w).join("；")) : null));
}

window.addEventListener("hashchange", show);
document.addEventListener("DOMContentLoaded", show);
