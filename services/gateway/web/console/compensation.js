// Advance compensation (先行赔付) in the console: an official asks for it on a complaint (amount, reason,
// evidence), confirms the merchant liable and approves (a second official where the rules want two) or rejects
// with a reason, watches the payout until it is paid, sends a refused one again, and follows the recovery order
// (a payment recorded, the merchant's contest, a write-off). Uses console.js's helpers (h, api, t, yuan, when,
// account, route) and the same public API; a failed call is told in words, never as a code.
"use strict";

window.Compensation = (() => {
  const OFFICIAL = ["official", "admin"];
  const CLAIM_STATES = ["pending_approval", "approved", "payout_failed", "paid", "rejected"];
  const RECOVERY_STATES = ["open", "contested", "defaulted", "settled", "written_off"];
  const IN_FLIGHT = ["pending", "sending", "processing", "unknown"];
  const POLL_MS = 1500;
  const word = (prefix, value) => (t(`${prefix}.${value}`) === `${prefix}.${value}` ? value : t(`${prefix}.${value}`));

  // --- errors in words ------------------------------------------------------------------------------
  // A problem's code picks the sentence; a code without one gets a general sentence with the HTTP status.
  // `context` words a code for this action (an invalid transition means something else for each).
  function sentence(problem, context = {}) {
    const code = problem.body && problem.body.code;
    const key = context[code] || (code && `comp.error.${code}`);
    if (key && t(key) !== key) return t(key);
    if (problem.status === 0) return t("error.network");
    if (problem.status === 401) return t("error.session");
    if (lang !== "zh" && problem.message) return problem.message;
    return t("comp.error.other").replace("{status}", problem.status || "?");
  }

  async function act(fn, context) {
    try { message(""); return await fn(); } catch (e) {
      if (e instanceof Problem) message(sentence(e, context));
      else { message(t("comp.error.other").replace("{status}", "?")); console.error(e); }
      return undefined;
    }
  }

  // A view renders itself or says in words why not (console.js would show the code).
  const guarded = (render) => (root, ...args) => act(() => render(root, ...args));

  // Evidence is a file on the complaint (multipart, not JSON): the complaint's own evidence endpoint.
  async function uploadEvidence(complaintId, file) {
    const body = new FormData();
    body.append("file", file, file.name);
    const send = () => fetch(`/v1/complaints/${complaintId}/evidence`, { method: "POST", body,
      headers: { Accept: "application/json", Authorization: `Bearer ${store.getItem("access_token")}` } });
    let response;
    try {
      response = await send();
      if (response.status === 401 && await refresh()) response = await send();
    } catch (e) { throw new Problem({ detail: t("error.network") }, 0); }
    if (!response.ok) throw new Problem(await response.json().catch(() => ({})), response.status);
    return response.json();
  }

  // --- small pieces -------------------------------------------------------------------------------------
  const fact = (label, value, id) => [h("dt", {}, label), h("dd", id ? { id } : {}, value)];
  const stateBadge = (prefix, state, id) => h("span", { class: `badge comp-${state}`, id }, word(prefix, state));
  const yuanInput = (name, value, required = true) => h("input", { name, inputmode: "decimal", required,
    pattern: "\\d+(\\.\\d{1,2})?", value: value === undefined || value === null ? undefined : yuan(value) });
  const field = (label, input) => h("label", {}, label, input);
  const check = (label, input) => h("label", { class: "check" }, h("span", {}, input, " ", label));

  // A form that stays until sent; `send` gets the form's elements and says whether it went through.
  function actionForm(action, fields, submitLabel, send) {
    const form = h("form", { class: "action-form inline", "data-action": action }, fields,
      h("button", { type: "submit" }, submitLabel),
      h("button", { type: "button", class: "secondary", onclick: () => form.remove() }, t("action.cancel")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      try { await send(form.elements); } finally { button.disabled = false; }
    });
    return form;
  }

  // Buttons that each open their form below them, one form at a time.
  function actionBar(entries) {
    const bar = h("div", { class: "actions" }), forms = h("div", {});
    for (const [action, label, make, cls] of entries) {
      bar.append(h("button", { type: "button", class: cls || "", "data-action": action,
        onclick: () => forms.replaceChildren(make()) }, label));
    }
    return [bar, forms];
  }

  // The rules' checks in words: passed or not, and the server's words for a check this page does not know.
  function reasonText(r) {
    const key = `comp.reason.${r.code}`, failed = `${key}.no`;
    if (lang !== "zh" || t(key) === key) return r.message;
    return !r.passed && t(failed) !== failed ? t(failed) : t(key);
  }

  function rejectionText(claim) {
    if (!claim.rejection_reason) return null;
    const failed = new Map(claim.reasons.filter((r) => !r.passed).map((r) => [r.code, r]));
    const parts = claim.rejection_reason.split("; ");
    if (parts.every((p) => failed.has(p))) {  // refused by the rules: their failed checks, worded
      return `${t("comp.rejected_by_rules")}${parts.map((p) => reasonText(failed.get(p))).join("；")}`;
    }
    return claim.rejection_reason;
  }

  function payoutFailure(reason) {
    if (!reason) return "—";
    const key = `comp.payout_failure.${reason}`;
    return t(key) === key ? `${t("comp.payout_failure.other")}${reason}` : t(key);
  }

  // A payout provider's label is its module's (services/compensation/providers/), served by compensation at
  // GET /v1/payout-providers: read once and kept with the console's own words (comp.provider.<name>), as
  // /console/channels.js does for the complaint channels. Without it a payout shows the provider's name.
  let providerLabels = null;
  function loadProviderLabels() {
    if (!providerLabels) {
      providerLabels = api("GET", "/v1/payout-providers").then((providers) => {
        for (const p of providers) {
          window.I18N.zh[`comp.provider.${p.name}`] = p.label_zh;
          window.I18N.en[`comp.provider.${p.name}`] = p.label_en;
        }
      }).catch(() => { providerLabels = null; });
    }
    return providerLabels;
  }

  const openedBy = (claim) => (claim.opened_by === "consumer" ? t("comp.opened_by.consumer") : t("comp.opened_by.official"));

  async function complaintOf(id) {
    try { return await api("GET", `/v1/complaints/${id}`); } catch (e) { return null; }
  }

  const merchantNames = new Map();
  async function merchantName(id) {
    if (!merchantNames.has(id)) {
      merchantNames.set(id, api("GET", `/v1/merchants/${id}`).then((m) => m.name).catch(() => id));
    }
    return merchantNames.get(id);
  }

  // Re-render the page while `busy(latest)` holds and the user stays on it; a change of state repaints.
  // It follows this rendering of the page (console.js's route generation), shown yet or not: on a slow
  // machine the page may still be drawing when the first poll is due.
  function watch(shown, load, signature, busy) {
    const hash = location.hash, seen = signature(shown), gen = generation;
    const poll = async () => {
      if (location.hash !== hash || generation !== gen) return;
      let latest;
      try { latest = await load(); } catch (e) { setTimeout(poll, POLL_MS * 2); return; }
      if (signature(latest) !== seen) { route(); return; }
      if (busy(latest)) setTimeout(poll, POLL_MS);
    };
    setTimeout(poll, POLL_MS);
  }

  // --- the complaint's card -------------------------------------------------------------------------------
  async function complaintCard(c, me) {
    const card = h("div", { class: "card", id: "compensation" }, h("h3", {}, t("comp.title")));
    let claim = null, recovery = null;
    try {
      claim = (await api("GET", `/v1/claims?complaint_id=${encodeURIComponent(c.id)}`)).items[0] || null;
      if (claim && claim.state === "paid") {
        recovery = (await api("GET", `/v1/recoveries?complaint_id=${encodeURIComponent(c.id)}`)).items[0] || null;
      }
    } catch (e) { /* compensation does not answer: the complaint's own fields below still say something */ }
    if (claim) {
      card.append(h("dl", { class: "facts comp-facts" },
        fact(t("col.state"), stateBadge("comp.state", claim.state)),
        fact(t("comp.amount_allowed"), yuan(claim.amount_fen)),
        fact(t("comp.approvals"), `${claim.approvals.length} / ${claim.approvals_needed}`),
        recovery ? fact(t("comp.recovery"), stateBadge("comp.recovery_state", recovery.state)) : null),
      h("div", { class: "actions" },
        h("a", { href: `#/claims/${claim.id}`, class: "button", id: "open-claim" }, t("comp.open_claim")),
        recovery ? h("a", { href: `#/recoveries/${recovery.id}`, class: "button secondary", id: "open-recovery" },
          t("comp.open_recovery")) : null));
      return card;
    }
    if (c.compensation_requested_at) {  // asked; the claim is being opened and decided by the rules
      card.append(h("p", { class: "muted", id: "claim-waiting" }, t("comp.waiting")),
        h("button", { type: "button", class: "secondary", onclick: () => route() }, t("queue.refresh")));
      return card;
    }
    const closed = ["submitted", "not_accepted", "withdrawn", "transferred"].includes(c.state);
    if (!OFFICIAL.includes(me.role) || closed) {
      card.append(h("p", { class: "muted" }, t("comp.none")));
      return card;
    }
    const [bar, forms] = actionBar([["request", t("comp.request"), () => requestForm(c)]]);
    card.append(h("p", { class: "muted" }, t("comp.request_hint")), bar, forms);
    return card;
  }

  function requestForm(c) {
    // The current rules' scenario standards for this industry, where there are any.
    const scenarios = h("label", { class: "comp-hidden" }, t("comp.scenario"), h("select", { name: "scenario" },
      h("option", { value: "" }, t("comp.scenario.none"))));
    api("GET", "/v1/compensation-rules").then((versions) => {
      const fitting = ((versions[0] || {}).scenarios || []).filter((s) => !s.industry || s.industry === c.industry);
      scenarios.querySelector("select").append(...fitting.map((s) => h("option", { value: s.code }, s.title)));
      scenarios.classList.toggle("comp-hidden", fitting.length === 0);
    }).catch(() => {});
    let evidenceCount = c.evidence_count ?? 0;
    const evidenceNote = h("span", { id: "evidence-count" }, t("comp.evidence_count").replace("{n}", evidenceCount));
    return actionForm("request", [
      field(t("comp.amount_requested"), yuanInput("amount", c.amount_involved_fen || undefined)),
      field(t("comp.request_reason"), h("textarea", { name: "reason", required: true, maxlength: "2000" })),
      scenarios,
      field([t("comp.evidence"), "（", evidenceNote, "）"],
        h("input", { type: "file", name: "evidence", multiple: true, accept: "image/*,application/pdf" })),
    ], t("comp.request_submit"), (el) => act(async () => {
      for (const file of el.evidence.files) {
        await uploadEvidence(c.id, file);
        evidenceNote.textContent = t("comp.evidence_count").replace("{n}", ++evidenceCount);
      }
      el.evidence.value = "";  // kept on the complaint: sending the form again does not add them twice
      const body = { amount_requested_fen: toFen(el.amount.value), reason: el.reason.value.trim() };
      if (el.scenario.value) body.scenario = el.scenario.value;
      await api("POST", `/v1/complaints/${c.id}/compensation-requests`, body);
      message(t("comp.requested"), "info");
      // The compensation service opens and decides the claim from intake's event: wait for it a moment.
      for (let i = 0; i < 60; i++) {
        const found = (await api("GET", `/v1/claims?complaint_id=${encodeURIComponent(c.id)}`)).items[0];
        if (found) { location.hash = `#/claims/${found.id}`; return; }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      await route();
    }, { invalid_transition: "comp.error.request_state" }));
  }

  // --- the claims -------------------------------------------------------------------------------------------
  async function claimsView(root, params) {
    const state = params.get("state") ?? "pending_approval";
    const query = new URLSearchParams({ limit: "50" });
    if (state) query.set("state", state);
    const page = await api("GET", `/v1/claims?${query}`);
    const filter = h("form", { class: "filters", id: "claims-filter" },
      h("label", {}, t("queue.state"), h("select", { name: "state", onchange: (ev) => {
        location.hash = `#/claims?${new URLSearchParams({ state: ev.target.value })}`;
      } }, h("option", { value: "" }, t("queue.all")),
        CLAIM_STATES.map((s) => h("option", { value: s, selected: s === state }, word("comp.state", s))))));
    const row = (c) => h("tr", { "data-id": c.id },
      h("td", {}, h("a", { href: `#/claims/${c.id}` }, c.id.slice(-8))),
      h("td", {}, h("a", { href: `#/complaints/${c.complaint_id}` }, c.complaint_id.slice(-8))),
      h("td", {}, yuan(c.amount_fen)), h("td", {}, `${c.approvals.length} / ${c.approvals_needed}`),
      h("td", {}, stateBadge("comp.state", c.state)), h("td", { class: "optional" }, when(c.created_at)));
    const body = h("tbody", {}, page.items.map(row));
    let cursor = page.next_cursor;
    const more = h("button", { type: "button", class: "secondary", hidden: !cursor, onclick: () => act(async () => {
      const next = await api("GET", `/v1/claims?${query}&cursor=${encodeURIComponent(cursor)}`);
      body.append(...next.items.map(row));
      cursor = next.next_cursor; more.hidden = !cursor;
    }) }, t("queue.more"));
    root.replaceChildren(h("h2", {}, t("comp.claims")), filter, ...page.items.length
      ? [h("div", { class: "table-wrap" }, h("table", { id: "claims" }, h("thead", {}, h("tr", {},
          ["comp.claim", "comp.complaint", "comp.amount_allowed", "comp.approvals", "col.state"]
            .map((k) => h("th", {}, t(k))), h("th", { class: "optional" }, t("comp.created")))), body)), more]
      : [h("p", { class: "muted" }, t("comp.no_claims"))]);
  }

  async function claimView(root, id) {
    const claim = await api("GET", `/v1/claims/${id}`);
    if (claim.payout) await loadProviderLabels();
    const me = account();
    const complaint = await complaintOf(claim.complaint_id);
    const recovery = claim.state === "paid" ? (await api("GET",
      `/v1/recoveries?complaint_id=${encodeURIComponent(claim.complaint_id)}`)).items[0] : null;
    const caseLink = h("a", { href: `#/complaints/${claim.complaint_id}`, id: "claim-complaint" },
      complaint ? caseNumber(complaint) : claim.complaint_id.slice(-8));
    const rejection = rejectionText(claim);
    const facts = h("dl", { class: "facts comp-facts" },
      fact(t("comp.complaint"), caseLink),
      complaint ? fact(t("col.merchant"), complaint.merchant_name) : null,
      fact(t("col.state"), stateBadge("comp.state", claim.state), "claim-state"),
      fact(t("comp.amount_requested"), yuan(claim.amount_requested_fen)),
      fact(t("comp.amount_allowed"), yuan(claim.amount_fen), "claim-amount"),
      claim.scenario ? fact(t("comp.scenario"), claim.scenario) : null,
      fact(t("comp.request_reason"), claim.request_reason),
      fact(t("comp.opened_by"), `${openedBy(claim)} · ${when(claim.created_at)}`),
      fact(t("comp.liability"), claim.liability_clear ? t("comp.liability.clear") : t("comp.liability.open"),
        "claim-liability"),
      fact(t("comp.rule_version"), `v${claim.rule_version}`),
      claim.decided_at ? fact(t("comp.decided_at"), when(claim.decided_at)) : null,
      rejection ? fact(t("comp.rejection_reason"), rejection, "claim-rejection") : null);
    root.replaceChildren(
      h("p", {}, h("a", { href: "#/claims" }, `← ${t("comp.claims")}`)),
      h("h2", {}, `${t("comp.claim_title")} ${complaint ? caseNumber(complaint) : claim.id.slice(-8)}`),
      h("div", { class: "grid2" },
        h("div", { class: "card" }, h("h3", {}, t("complaint.facts")), facts),
        h("div", { class: "card", id: "claim-decision" }, h("h3", {}, t("comp.decision")), decision(claim, me))),
      h("div", { class: "grid2" },
        h("div", { class: "card", id: "claim-payout" }, h("h3", {}, t("comp.payout")), payoutPart(claim, me)),
        h("div", { class: "card", id: "claim-reasons" }, h("h3", {}, t("comp.reasons")),
          h("ul", { class: "reasons" }, claim.reasons.map((r) => h("li", { class: r.passed ? "passed" : "failed" },
            h("span", { class: "mark" }, r.passed ? "✓" : "✗"), " ", reasonText(r),
            r.code === "liability_clear" && !r.passed && claim.liability_clear ? ` · ${t("comp.liability.confirmed")}` : ""))))),
      recovery ? h("div", { class: "card", id: "claim-recovery" }, h("h3", {}, t("comp.recovery")),
        recoverySummary(recovery)) : "");
    // The payout is on its way: follow it until the provider's answer (paid or refused) arrives.
    const busy = (c) => c.state === "approved" || (c.payout && IN_FLIGHT.includes(c.payout.state));
    if (busy(claim)) {
      watch(claim, () => api("GET", `/v1/claims/${id}`),
        (c) => `${c.state}/${c.payout ? c.payout.state : ""}/${c.payout ? c.payout.attempts : 0}`, busy);
    }
  }

  function decision(claim, me) {
    const part = h("div", {});
    part.append(h("p", { id: "claim-approvals" },
      t("comp.approvals_of").replace("{n}", claim.approvals.length).replace("{needed}", claim.approvals_needed)));
    if (claim.approvals.length) {
      part.append(h("ul", {}, claim.approvals.map((a) => h("li", {}, `${a.official_name || a.official_id} · ${when(a.at)}`,
        a.note ? h("div", { class: "muted" }, a.note) : null))));
    }
    if (!OFFICIAL.includes(me.role)) return part;
    const reload = () => route();
    if (claim.state === "pending_approval") {
      const mine = claim.approvals.some((a) => a.official_id === me.id);
      const entries = [];
      if (mine) part.append(h("p", { class: "muted", id: "awaiting-second" }, t("comp.awaiting_second")));
      else entries.push(["approve", claim.approvals.length ? t("comp.approve_second") : t("comp.approve"), () => approveForm(claim, reload)]);
      entries.push(["reject", t("comp.reject"), () => rejectForm(claim, "reject", reload), "secondary"]);
      part.append(...actionBar(entries));
    }
    return part;
  }

  function approveForm(claim, done) {
    const fields = [];
    if (!claim.liability_clear) {
      fields.push(h("p", { class: "muted" }, t("comp.liability.needed")),
        check(t("comp.liability.confirm"), h("input", { type: "checkbox", name: "liability", required: true })));
    }
    fields.push(field(t("comp.note"), h("input", { name: "note", maxlength: "2000" })));
    return actionForm("approve", fields, t("comp.approve_submit"), (el) => act(async () => {
      const body = { liability_confirmed: Boolean(el.liability && el.liability.checked) };
      if (el.note.value.trim()) body.note = el.note.value.trim();
      const after = await api("POST", `/v1/claims/${claim.id}/approvals`, body);
      await done();
      message(t(after.state === "pending_approval" ? "comp.approved_first" : "comp.approved"), "info");
    }));
  }

  // Rejecting a pending claim, or cancelling one whose payout was refused (the money goes back to the fund).
  function rejectForm(claim, action, done) {
    return actionForm(action, [field(t("comp.rejection_reason"),
      h("textarea", { name: "reason", required: true, maxlength: "2000" }))],
    t(action === "cancel" ? "comp.cancel_submit" : "comp.reject_submit"), (el) => act(async () => {
      await api("POST", `/v1/claims/${claim.id}/rejections`, { reason: el.reason.value.trim() });
      await done();
      message(t(action === "cancel" ? "comp.cancelled" : "comp.rejected"), "info");
    }));
  }

  function payoutPart(claim, me) {
    const p = claim.payout;
    if (!p) {
      return h("p", { class: "muted", id: "payout-state" },
        t(claim.state === "rejected" ? "comp.payout.never" : "comp.payout.after_approval"));
    }
    const steps = ["approved", "sent", "paid"];
    const reached = p.state === "succeeded" ? 3 : ["processing", "unknown"].includes(p.state) ? 2 : 1;
    const part = h("div", {},
      h("ol", { class: "comp-steps" }, steps.map((s, i) => h("li", { class: i < reached ? "done" : "" }, t(`comp.step.${s}`)))),
      h("dl", { class: "facts comp-facts" },
        fact(t("comp.payout.state"), stateBadge("comp.payout_state", p.state), "payout-state"),
        fact(t("comp.payout.provider"), word("comp.provider", p.provider)),
        fact(t("comp.payout.amount"), yuan(p.amount_fen)),
        fact(t("comp.payout.attempts"), String(p.attempts)),
        fact(t("comp.payout.out_no"), p.out_no),
        p.provider_ref ? fact(t("comp.payout.provider_ref"), p.provider_ref) : null,
        p.succeeded_at ? fact(t("comp.payout.paid_at"), when(p.succeeded_at)) : null,
        p.failure_reason ? fact(t("comp.payout.failure"), payoutFailure(p.failure_reason), "payout-failure") : null));
    if (claim.state === "approved") part.append(h("p", { class: "muted", id: "payout-watching" }, t("comp.payout.watching")));
    if (claim.state === "payout_failed" && OFFICIAL.includes(me.role)) {
      part.append(h("p", { class: "muted" }, t("comp.payout.retry_hint")));
      const retry = h("button", { type: "button", "data-action": "retry", onclick: () => act(async () => {
        retry.disabled = true;
        try {
          await api("POST", `/v1/claims/${claim.id}/payout-retries`);
          await route();
          message(t("comp.retried"), "info");
        } finally { retry.disabled = false; }
      }) }, t("comp.retry"));
      const [bar, forms] = actionBar([["cancel", t("comp.cancel"), () => rejectForm(claim, "cancel", () => route()), "secondary"]]);
      bar.prepend(retry);
      part.append(bar, forms);
    }
    return part;
  }

  // --- recovery orders ---------------------------------------------------------------------------------------
  function recoverySummary(r) {
    return h("div", {}, h("dl", { class: "facts comp-facts" },
      fact(t("col.state"), stateBadge("comp.recovery_state", r.state)),
      fact(t("comp.recovery.amount"), yuan(r.amount_fen)),
      fact(t("comp.recovery.recovered"), yuan(r.recovered_fen)),
      fact(t("comp.recovery.outstanding"), yuan(r.outstanding_fen))),
    h("p", {}, h("a", { href: `#/recoveries/${r.id}`, id: "open-recovery" }, t("comp.open_recovery"))));
  }

  const overdue = (r) => ["open", "defaulted"].includes(r.state) && new Date(r.due_by) < new Date();

  async function recoveriesView(root, params) {
    const state = params.get("state") || "";
    const query = new URLSearchParams({ limit: "50" });
    if (state) query.set("state", state);
    const page = await api("GET", `/v1/recoveries?${query}`);
    const names = await Promise.all(page.items.map((r) => merchantName(r.merchant_id)));
    const filter = h("form", { class: "filters", id: "recoveries-filter" },
      h("label", {}, t("queue.state"), h("select", { name: "state", onchange: (ev) => {
        location.hash = `#/recoveries?${new URLSearchParams({ state: ev.target.value })}`;
      } }, h("option", { value: "" }, t("queue.all")),
        RECOVERY_STATES.map((s) => h("option", { value: s, selected: s === state }, word("comp.recovery_state", s))))));
    const rows = page.items.map((r, i) => h("tr", { "data-id": r.id, class: overdue(r) ? "overdue" : "" },
      h("td", {}, h("a", { href: `#/recoveries/${r.id}` }, r.id.slice(-8))), h("td", {}, names[i]),
      h("td", {}, yuan(r.amount_fen)), h("td", { class: "optional" }, yuan(r.recovered_fen)),
      h("td", {}, yuan(r.outstanding_fen)), h("td", {}, stateBadge("comp.recovery_state", r.state)),
      h("td", { class: "optional" }, when(r.due_by))));
    root.replaceChildren(h("h2", {}, t("comp.recoveries")), filter, rows.length
      ? h("div", { class: "table-wrap" }, h("table", { id: "recoveries" }, h("thead", {}, h("tr", {},
          ["comp.recovery.id", "col.merchant", "comp.recovery.amount"].map((k) => h("th", {}, t(k))),
          h("th", { class: "optional" }, t("comp.recovery.recovered")), h("th", {}, t("comp.recovery.outstanding")),
          h("th", {}, t("col.state")), h("th", { class: "optional" }, t("comp.recovery.due_by")))),
        h("tbody", {}, rows)))
      : h("p", { class: "muted" }, t("comp.no_recoveries")));
  }

  async function recoveryView(root, id) {
    const r = await api("GET", `/v1/recoveries/${id}`);
    const me = account();
    const [complaint, name, deposit] = await Promise.all([complaintOf(r.complaint_id), merchantName(r.merchant_id),
      api("GET", `/v1/merchants/${r.merchant_id}/deposit`).catch(() => null)]);
    const facts = h("dl", { class: "facts comp-facts" },
      fact(t("col.merchant"), name),
      fact(t("comp.complaint"), h("a", { href: `#/complaints/${r.complaint_id}` },
        complaint ? caseNumber(complaint) : r.complaint_id.slice(-8))),
      OFFICIAL.includes(me.role) ? fact(t("comp.claim"), h("a", { href: `#/claims/${r.claim_id}` }, r.claim_id.slice(-8))) : null,
      fact(t("col.state"), stateBadge("comp.recovery_state", r.state), "recovery-state"),
      fact(t("comp.recovery.amount"), yuan(r.amount_fen)),
      fact(t("comp.recovery.recovered"), yuan(r.recovered_fen), "recovery-recovered"),
      fact(t("comp.recovery.outstanding"), yuan(r.outstanding_fen), "recovery-outstanding"),
      fact(t("comp.recovery.due_by"), [when(r.due_by), overdue(r) ? h("span", { class: "badge overdue" }, ` ${t("overdue")}`) : ""]),
      r.contest_reason ? fact(t("comp.recovery.contest_reason"), r.contest_reason, "recovery-contest") : null,
      r.write_off_reason ? fact(t("comp.recovery.write_off_reason"), r.write_off_reason, "recovery-write-off") : null,
      r.closed_at ? fact(t("comp.recovery.closed_at"), when(r.closed_at)) : null,
      deposit ? fact(t("comp.deposit"), yuan(deposit.balance_fen)) : null,
      deposit ? fact(t("comp.receivable"), yuan(deposit.receivable_fen)) : null);
    const actions = h("div", { class: "card", id: "recovery-actions" }, h("h3", {}, t("complaint.actions")));
    const reload = () => route();
    const entries = [];
    const open = ["open", "contested", "defaulted"].includes(r.state);
    if (OFFICIAL.includes(me.role) && open) {
      entries.push(["payment", t("comp.recovery.record_payment"), () => paymentForm(r, reload)],
                   ["write-off", t("comp.recovery.write_off"), () => writeOffForm(r, reload), "secondary"]);
    }
    if (me.role === "merchant_staff" && ["open", "defaulted"].includes(r.state)) {
      entries.push(["contest", t("comp.recovery.contest"), () => contestForm(r, reload)]);
    }
    if (entries.length) actions.append(...actionBar(entries));
    else actions.append(h("p", { class: "muted" }, t(open ? "comp.recovery.waiting" : "comp.recovery.closed")));
    root.replaceChildren(
      h("p", {}, h("a", { href: "#/recoveries" }, `← ${t("comp.recoveries")}`)),
      h("h2", {}, `${t("comp.recovery_title")} ${complaint ? caseNumber(complaint) : r.id.slice(-8)}`),
      h("div", { class: "grid2" }, h("div", { class: "card" }, h("h3", {}, t("complaint.facts")), facts), actions));
  }

  function paymentForm(r, done) {
    return actionForm("payment", [
      field(t("comp.recovery.payment_amount"), yuanInput("amount", r.outstanding_fen)),
      field(t("comp.recovery.source"), h("select", { name: "source" }, ["merchant_transfer", "private_settlement"]
        .map((s) => h("option", { value: s }, word("comp.source", s))))),
      field(t("comp.recovery.reference"), h("input", { name: "reference", required: true, maxlength: "100" })),
    ], t("action.submit"), (el) => act(async () => {
      await api("POST", `/v1/recoveries/${r.id}/payments`,
        { amount_fen: toFen(el.amount.value), source: el.source.value, reference: el.reference.value.trim() });
      await done();
      message(t("comp.recovery.paid"), "info");
    }));
  }

  function writeOffForm(r, done) {
    return actionForm("write-off", [field(t("comp.recovery.write_off_reason"),
      h("textarea", { name: "reason", required: true, maxlength: "2000" }))], t("comp.recovery.write_off_submit"),
    (el) => act(async () => {
      await api("POST", `/v1/recoveries/${r.id}/write-offs`, { reason: el.reason.value.trim() });
      await done();
      message(t("comp.recovery.written_off"), "info");
    }));
  }

  // The merchant's contest, with its own evidence: files kept on the complaint, named in the contest.
  function contestForm(r, done) {
    return actionForm("contest", [
      field(t("comp.recovery.contest_reason"), h("textarea", { name: "reason", required: true, maxlength: "2000" })),
      field(t("comp.evidence"), h("input", { type: "file", name: "evidence", multiple: true, accept: "image/*,application/pdf" })),
    ], t("comp.recovery.contest_submit"), (el) => act(async () => {
      const ids = [];
      for (const file of el.evidence.files) ids.push((await uploadEvidence(r.complaint_id, file)).id);
      await api("POST", `/v1/recoveries/${r.id}/contests`, { reason: el.reason.value.trim(), evidence_ids: ids });
      await done();
      message(t("comp.recovery.contested"), "info");
    }));
  }

  return {
    complaintCard,
    claimsView: guarded(claimsView),
    claimView: guarded(claimView),
    recoveriesView: guarded(recoveriesView),
    recoveryView: guarded(recoveryView),
  };
})();
