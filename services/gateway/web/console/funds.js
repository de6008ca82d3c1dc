// The fund statement: one fund's calendar month (Asia/Shanghai) from the ledger, with its downloads; and
// a merchant's own deposit: its balance and floor, an official's request to top it up, its month.
// Loaded after console.js, whose helpers (h, t, api, yuan, attempt, openBlob, account) and routes it uses.
"use strict";

function shanghaiMonth(date) {
  return shanghaiDay(date).slice(0, 7);  // YYYY-MM
}

async function fundStatementView(root, params) {
  const me = account();
  const funds = await api("GET", "/v1/funds");
  const region = params.get("region") || me.region_code || (funds[0] && funds[0].region_code) || "";
  const month = params.get("month") || shanghaiMonth(new Date());
  const form = h("form", { class: "filters", id: "fund-statement-form" },
    h("label", {}, t("fundstmt.fund"), h("select", { name: "region" },
      funds.map((f) => h("option", { value: f.region_code, selected: f.region_code === region }, f.region_code)))),
    h("label", {}, t("fundstmt.month"), h("input", { type: "month", name: "month", value: month, required: true })),
    h("button", { type: "submit" }, t("reports.show")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    location.hash = `#/fund-statements?${new URLSearchParams({ region: form.region.value, month: form.month.value })}`;
  });
  root.replaceChildren(h("h2", {}, t("fundstmt.title")), form);
  if (!region || !/^\d{4}-\d{2}$/.test(month)) return;
  const query = new URLSearchParams({ region_code: region, month });
  const s = await api("GET", `/v1/reports/fund-statements?${query}`);
  const file = (format) => () => attempt(() => openBlob(`/v1/reports/fund-statements?${query}&format=${format}`,
    `fund-statement-${region}-${month}.${format}`, { download: true }));
  const figures = [["fundstmt.opening", s.opening_fen], ["fundstmt.topped_up", s.topped_up_fen],
    ["fundstmt.paid", s.paid_fen], ["fundstmt.recovered", s.recovered_fen], ["fundstmt.written_off", s.written_off_fen],
    ["fundstmt.other", s.other_fen], ["fundstmt.closing", s.closing_fen], ["fundstmt.owed", s.owed_by_merchants_fen]];
  const kind = (k) => t(`fundstmt.kind.${k}`) === `fundstmt.kind.${k}` ? k : t(`fundstmt.kind.${k}`);
  root.append(
    h("div", { class: "actions" },
      h("button", { type: "button", class: "secondary", onclick: file("csv") }, t("reports.csv")),
      h("button", { type: "button", class: "secondary", onclick: file("xlsx") }, t("reports.xlsx"))),
    h("div", { class: "cards", id: "fund-statement-figures" }, figures.map(([k, v]) => h("div", { class: "figure" },
      h("div", { class: "value", "data-fen": v }, yuan(v)), h("div", { class: "name" }, t(k))))),
    h("div", { class: "card" }, h("h3", {}, t("fundstmt.lines")), s.lines.length
      ? h("div", { class: "table-wrap" }, h("table", { id: "fund-statement-lines" },
        h("thead", {}, h("tr", {}, ["fundstmt.at", "fundstmt.kind", "fundstmt.reference", "fundstmt.amount"]
          .map((k) => h("th", {}, t(k))))),
        h("tbody", {}, s.lines.map((line) => h("tr", {}, h("td", {}, when(line.at)), h("td", {}, kind(line.kind)),
          h("td", {}, line.reference), h("td", { class: "num" }, yuan(line.amount_fen)))))))
      : h("p", { class: "muted" }, t("fundstmt.empty"))));
}

// The merchant's deposit: what an official asked of it (a top-up to the floor, by when) shows here first.
async function myDepositView(root, params) {
  const id = account().merchant_id;
  const month = params.get("month") || shanghaiMonth(new Date());
  const [deposit, statement] = await Promise.all([api("GET", `/v1/merchants/${id}/deposit`),
    api("GET", `/v1/merchants/${id}/deposit/statements/${month}`)]);
  const request = deposit.top_up_request;
  const form = h("form", { class: "filters", id: "deposit-month-form" },
    h("label", {}, t("fundstmt.month"), h("input", { type: "month", name: "month", value: month, required: true })),
    h("button", { type: "submit" }, t("reports.show")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    location.hash = `#/deposit?${new URLSearchParams({ month: form.month.value })}`;
  });
  const figure = (key, fen) => h("div", { class: "figure" }, h("div", { class: "value" }, yuan(fen)),
    h("div", { class: "name" }, t(key)));
  root.replaceChildren(h("h2", {}, t("deposit.title")),
    request ? h("div", { class: "message error", id: "top-up-request" },
      t("deposit.requested").replace("{amount}", yuan(request.amount_fen)).replace("{due}", when(request.due_by)),
      request.note ? ` ${request.note}` : "") : "",
    h("div", { class: "cards", id: "deposit-figures" }, figure("deposit.balance", deposit.balance_fen),
      figure("deposit.floor", deposit.floor_fen), figure("deposit.owed", deposit.receivable_fen)),
    h("div", { class: "card" }, h("h3", {}, t("deposit.statement")), form,
      h("div", { class: "cards", id: "deposit-statement" }, figure("fundstmt.opening", statement.opening_fen),
        figure("deposit.drawn", statement.drawn_fen), figure("deposit.topped_up", statement.topped_up_fen),
        figure("fundstmt.closing", statement.closing_fen))));
}

ROUTES.push([/^#\/fund-statements$/, fundStatementView], [/^#\/deposit$/, myDepositView]);
