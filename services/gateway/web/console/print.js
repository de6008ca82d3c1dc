// The report's print version, opened from the console: intake's page to print (format=html), shown under the
// gateway's policy. That page carries its style and print button inline, so that the file also works when
// saved and opened alone; here they come from files (/assets/print.css, the button wired below).
"use strict";

document.addEventListener("DOMContentLoaded", async () => {
  try {
    const query = new URLSearchParams(location.search);
    query.set("format", "html");
    const response = await Printable.get(`/v1/reports/complaints?${query}`, "text/html");
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const el of doc.querySelectorAll("script, style, link, base, meta")) el.remove();
    for (const el of doc.querySelectorAll("*")) {
      for (const attr of [...el.attributes]) if (attr.name.startsWith("on") || attr.name === "style") el.removeAttribute(attr.name);
    }
    for (const button of doc.querySelectorAll(".noprint button")) button.classList.add("print");
    document.title = doc.title;
    const report = document.getElementById("report");
    report.replaceChildren(...[...doc.body.childNodes].map((node) => document.importNode(node, true)));
    Printable.printButtons(report);
  } catch (e) {
    document.getElementById("report").replaceChildren();
    Printable.fail(e.message);
  }
});
