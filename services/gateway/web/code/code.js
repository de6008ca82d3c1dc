// The page a scanned assured consumption code opens (/c/<code> redirects here): GET /v1/codes/<code>, no login.
"use strict";

const WORDS = {
  zh: { title: "放心消费码", note: "商户公开信息：信用等级、徽章与近一年投诉处理情况，不含任何个人信息。在微信或支付宝小程序中扫码可直接评价或投诉。",
    grade: "信用等级", complaints: (days) => `近 ${days} 天投诉`, in_time: "按时响应", rating: "游客评分",
    updated: "信息更新于", not_yet: "尚未评分（按基础分评级）", grades_title: "信用等级说明",
    "grade.A": "优秀：守信记录良好，列入红名单", "grade.B": "良好：经营规范，偶有投诉已妥善处理",
    "grade.C": "一般：存在超时响应或有责投诉，请留意", "grade.D": "较差：多次有责投诉或违约，可能被列入重点关注名单",
    from_score: (n) => `信用分 ${n} 分及以上`, below: (n) => `信用分低于 ${n} 分`,
    "badge.integrity_alliance": "诚信商家联盟", "badge.advance_compensation": "先行赔付商户", "badge.red_list": "红名单",
    "warning.key_supervision": "重点关注名单", "warning.dishonest": "严重失信主体名单",
    "error.scan": "请扫描商户展示的放心消费码。", "error.code_not_found": "没有找到这个放心消费码：请核对码号，或直接扫描商户店内展示的二维码。",
    "error.code_suspended": "这个放心消费码已暂停使用。如需投诉，请拨打 12345 或 12301 热线。",
    "error.code_replaced": "这个放心消费码已更换：请扫描商户现在展示的新码。",
    "error.network": "无法连接服务器，请稍后再试。", "error.other": "暂时无法显示商户信息，请稍后再试。" },
  en: { title: "Assured consumption code", note: "Public facts only: grade, badges and the last year's complaint handling; no personal data. Scan in the WeChat or Alipay mini-program to rate the merchant or complain.",
    grade: "Credit grade", complaints: (days) => `Complaints, last ${days} days`, in_time: "Answered in time",
    rating: "Tourists' rating", updated: "Updated", not_yet: "Not scored yet (graded at the base score)",
    grades_title: "What the grades mean", "grade.A": "Excellent: a good record, on the red list",
    "grade.B": "Good: trades properly; the odd complaint settled", "grade.C": "Fair: late answers or complaints found its fault; take care",
    "grade.D": "Poor: repeated faults or defaults; may be under key supervision",
    from_score: (n) => `score ${n} or more`, below: (n) => `score below ${n}`,
    "badge.integrity_alliance": "Integrity alliance", "badge.advance_compensation": "Advance compensation",
    "badge.red_list": "Red list", "warning.key_supervision": "Under key supervision", "warning.dishonest": "Seriously dishonest",
    "error.scan": "Scan the code the merchant shows.", "error.code_not_found": "No such assured consumption code: check it, or scan the code shown in the shop.",
    "error.code_suspended": "This code is suspended. To complain, call 12345 or 12301.",
    "error.code_replaced": "This code has been replaced: scan the one the merchant shows now.",
    "error.network": "The server cannot be reached; try again shortly.", "error.other": "The merchant cannot be shown just now; try again shortly." },
};
const t = (key, ...args) => {
  const word = window.Lang.t(key);
  return typeof word === "function" ? word(...args) : word;
};

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== false) el.setAttribute(k, v);
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}
const when = (iso) => new Date(iso).toLocaleString(window.Lang.current === "zh" ? "zh-CN" : "en-GB",
  { timeZone: "Asia/Shanghai", dateStyle: "medium", timeStyle: "short" });

let state = null;  // what was last shown: { body } or { problem }

function problem(code) {
  const key = `error.${code}` in WORDS.zh ? `error.${code}` : "error.other";
  document.getElementById("profile").replaceChildren();
  document.getElementById("message").replaceChildren(h("div", { class: "message error", id: "problem", "data-code": code }, t(key)));
}

function grades(scale) {
  const order = Object.entries(scale).sort((a, b) => b[1] - a[1]);
  return h("div", { class: "card", id: "grade-scale" }, h("h3", {}, t("grades_title")),
    h("dl", { class: "facts" }, order.map(([grade, from], i) => [h("dt", {}, grade),
      h("dd", {}, `${t(`grade.${grade}`)}（${from > 0 ? t("from_score", from) : t("below", order[i - 1] ? order[i - 1][1] : from)}）`)])));
}

function render(body) {
  const f = body.figures || {};
  const answered = (f.responded_in_time || 0) + (f.responded_late || 0);
  const share = answered ? `${Math.round(100 * f.responded_in_time / answered)}%` : "—";
  document.getElementById("message").replaceChildren();
  document.getElementById("profile").replaceChildren(
    h("div", { class: "card" },
      h("h2", { id: "merchant-name" }, body.name),
      body.address ? h("p", {}, body.address) : null,
      h("div", { class: "cards" },
        h("div", { class: "figure" }, h("div", { class: "value", id: "grade" }, body.grade || "—"), h("div", { class: "name" }, t("grade"))),
        h("div", { class: "figure" }, h("div", { class: "value" }, f.complaints ?? 0), h("div", { class: "name" }, t("complaints", f.days ?? 365))),
        h("div", { class: "figure" }, h("div", { class: "value" }, share), h("div", { class: "name" }, t("in_time"))),
        h("div", { class: "figure" }, h("div", { class: "value" }, f.rating_average ?? "—"), h("div", { class: "name" }, t("rating")))),
      h("p", { class: "muted", id: "updated" }, body.updated_at ? `${t("updated")} ${when(body.updated_at)}` : t("not_yet")),
      body.badges.length ? h("ul", { id: "badges" }, body.badges.map((b) => h("li", {}, t(`badge.${b}`)))) : null,
      body.warnings.length ? h("div", { class: "message error", id: "warnings" }, body.warnings.map((w) => t(`warning.${w}`)).join("；")) : null),
    Object.keys(body.grade_scale || {}).length ? grades(body.grade_scale) : null);
}

async function show() {
  const code = decodeURIComponent(location.hash.slice(1));
  if (!/^[0-9A-Za-z]{6,16}$/.test(code)) { state = { problem: "scan" }; problem("scan"); return; }
  let response;
  try {
    response = await fetch(`/v1/codes/${code}`, { headers: { Accept: "application/json",
      "Accept-Language": window.Lang.current === "zh" ? "zh-CN" : "en" } });
  } catch (e) {
    state = { problem: "network" }; problem("network"); return;
  }
  const body = await response.json().catch(() => ({}));
  state = response.ok ? { body } : { problem: body.code || "other" };
  redraw();
}

function redraw() {
  if (!state) return;
  if (state.body) render(state.body); else problem(state.problem);
}

window.addEventListener("hashchange", show);
document.addEventListener("DOMContentLoaded", () => {
  window.Lang.setup(WORDS, redraw);
  show();
});
