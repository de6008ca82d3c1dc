// The tourists' progress page (/p/#<token>, or a look-up by case number and phone): services/gateway/progress.py.
// The token stays in the fragment and in this tab's sessionStorage: never in a URL a server sees.
"use strict";

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === false || v === null) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v); else el.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

const KEY = "progress-token";
const ERRORS = {
  progress_link_invalid: "链接无效。请使用收到的完整链接，或用案件编号和联系电话查询。",
  progress_link_expired: "链接已过期。请用案件编号和联系电话查询。",
  case_not_found: "没有找到与该案件编号和联系电话相符的投诉，请核对后再试。",
  too_many_requests: "查询过于频繁，请稍后再试。",
  invalid_transition: "当前状态下不能进行此操作，请刷新后查看。",
  already_evaluated: "您已经评价过了。",
  validation_failed: "填写的内容有误，请检查。",
};
const when = (iso) => iso ? new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false,
  year: "numeric", month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" }) : "";
const yuan = (fen) => `${(fen / 100).toFixed(2)}元`;

function say(text, kind = "error", code = "") {
  document.getElementById("message").replaceChildren(
    text ? h("div", { class: `message ${kind}`, id: kind === "error" ? "problem" : "notice", "data-code": code }, text) : "");
}

async function call(method, path, body) {
  const headers = { Accept: "application/json", "Accept-Language": "zh-CN" };
  const token = sessionStorage.getItem(KEY);
  if (token) headers["X-Progress-Token"] = token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                                       credentials: "omit", cache: "no-store" });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const code = data.code || (response.status === 429 ? "too_many_requests" : "");
    const error = new Error(ERRORS[code] || data.detail || "暂时无法完成，请稍后再试。");
    error.code = code; error.status = response.status;
    throw error;
  }
  return data;
}

function showLookup(reason, code) {
  document.getElementById("progress").replaceChildren();
  document.getElementById("lookup").hidden = false;
  say(reason || "", "error", code || "");
}

function deadlineText(p) {
  if (!p.next_due_at) return null;
  // The server says when a deadline was missed (its scheduler fires on time): a phone's clock may be off.
  if (p.overdue) return h("span", { class: "deadline overdue" }, `${p.next_deadline_label}时限已过（${when(p.next_due_at)}），已督办`);
  return h("span", { class: "deadline" }, `${p.next_deadline_label}时限：${when(p.next_due_at)}前`);
}

function actions(p) {
  const cards = [];
  if (p.may_accept || p.may_reject) {
    const note = h("textarea", { name: "note", rows: "2", maxlength: "500", placeholder: "补充说明（可不填）" });
    const act = (path, done) => async () => {
      try { render(await call("POST", path, note.value.trim() ? { note: note.value.trim() } : {})); say(done, "info"); }
      catch (e) { say(e.message, "error", e.code); }
    };
    cards.push(h("div", { class: "card", id: "verdict" }, h("h2", {}, "您对商家的答复"),
      h("p", {}, "接受答复后投诉即办结；不接受的，将转由工作人员调解。"), note,
      h("button", { type: "button", id: "accept", onclick: act("/v1/progress/acceptances", "已接受答复，投诉已办结。") }, "接受答复"),
      h("button", { type: "button", id: "reject", class: "secondary",
                    onclick: act("/v1/progress/rejections", "已转工作人员调解，请留意办理进度。") }, "不接受，申请调解")));
  }
  if (p.may_evaluate) {
    const stars = [5, 4, 3, 2, 1].map((n) => h("label", {}, h("input", { type: "radio", name: "score", value: String(n) }),
      ["", "很不满意", "不满意", "一般", "满意", "非常满意"][n]));
    const comment = h("textarea", { name: "comment", rows: "2", maxlength: "500", placeholder: "您的意见（可不填）" });
    const form = h("form", { class: "card", id: "evaluate" }, h("h2", {}, "评价办理情况"), h("div", { class: "stars" }, stars),
      comment, h("button", { type: "submit" }, "提交评价"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const picked = form.querySelector("input[name=score]:checked");
      if (!picked) { say("请选择满意程度。"); return; }
      const body = { score: Number(picked.value) };
      if (comment.value.trim()) body.comment = comment.value.trim();
      try { render(await call("POST", "/v1/progress/evaluations", body)); say("感谢您的评价。", "info"); }
      catch (e) { say(e.message, "error", e.code); }
    });
    cards.push(form);
  }
  return cards;
}

function render(p) {
  document.getElementById("lookup").hidden = true;
  const facts = [["被投诉商家", p.merchant_name], ["类别", p.industry_label], ["投诉时间", when(p.submitted_at)]];
  if (p.outcome_text) facts.push(["办理结果", p.outcome_text]);
  if (p.amount_refunded_fen) facts.push(["退还金额", yuan(p.amount_refunded_fen)]);
  if (p.satisfaction) facts.push(["您的评价", `${p.satisfaction}分`]);
  const response = p.response_text ? h("div", { class: "card", id: "response" }, h("h2", {}, "商家答复"),
    h("div", { class: "response" }, p.response_text),
    p.offered_refund_fen ? h("p", {}, `商家提出退还：${yuan(p.offered_refund_fen)}`) : null,
    h("p", { class: "muted small" }, when(p.responded_at))) : null;
  const steps = h("ol", { class: "steps", id: "steps" }, [...p.timeline].reverse().map((s) =>
    h("li", {}, h("time", {}, when(s.at)), `${s.label}`, s.by && s.by !== "系统" ? h("span", { class: "muted" }, ` · ${s.by}`) : null)));
  document.getElementById("progress").replaceChildren(
    h("div", { class: "card", id: "summary" },
      h("div", { class: "state" }, h("span", { class: "label", id: "state", "data-state": p.state }, p.state_label),
        h("span", { class: "number", id: "case-number" }, p.case_number ? `案件编号 ${p.case_number}` : "")),
      deadlineText(p),
      h("dl", { class: "facts" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]))),
    response, ...actions(p),
    h("div", { class: "card" }, h("h2", {}, "办理过程"), steps));
}

async function load() {
  try { render(await call("GET", "/v1/progress")); }
  catch (e) {
    if (e.code && e.code.startsWith("progress_link")) sessionStorage.removeItem(KEY);
    showLookup(e.message, e.code);
  }
}

function adoptLink() {
  const fromLink = decodeURIComponent(location.hash.slice(1));
  if (!fromLink) return false;
  sessionStorage.setItem(KEY, fromLink);
  history.replaceState(null, "", location.pathname);  // the token leaves the address bar (and screenshots)
  return true;
}

function start() {
  adoptLink();
  window.addEventListener("hashchange", () => { if (adoptLink()) { say(""); load(); } });  // another link, same tab
  const form = document.getElementById("lookup");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    try {
      sessionStorage.removeItem(KEY);
      const found = await call("POST", "/v1/progress/lookups",
                               { case_number: String(data.get("case_number")).trim(), phone: String(data.get("phone")).trim() });
      sessionStorage.setItem(KEY, found.token);
      say("");
      await load();
    } catch (e) { say(e.message, "error", e.code); }
  });
  if (sessionStorage.getItem(KEY)) load(); else showLookup("");
}

start();
