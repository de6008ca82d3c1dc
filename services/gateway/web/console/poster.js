// The assured consumption code as a poster to print, opened from the console by the merchant's staff (or its
// officials): the QR image from credit (SVG, sharp at any size), the name, the grade, the badges and how to
// complain.
"use strict";

const BADGES = { integrity_alliance: "诚信商家联盟", advance_compensation: "先行赔付商户", red_list: "红名单" };

document.addEventListener("DOMContentLoaded", async () => {
  const id = new URLSearchParams(location.search).get("merchant") || "";
  try {
    const base = `/v1/merchants/${encodeURIComponent(id)}`;
    const code = await (await Printable.get(`${base}/code`)).json();
    const [profile, qr] = await Promise.all([
      Printable.get(`/v1/codes/${encodeURIComponent(code.code)}`).then((r) => r.json()),
      Printable.get(`${base}/code.svg`, "image/svg+xml").then((r) => r.blob())]);
    document.title = `放心消费码海报 · ${profile.name}`;
    document.getElementById("poster-name").textContent = profile.name;
    document.getElementById("poster-grade").textContent = profile.grade || "—";
    document.getElementById("poster-code").textContent = code.code;
    document.getElementById("poster-badges").replaceChildren(...profile.badges.map((b) => {
      const li = document.createElement("li");
      li.textContent = BADGES[b] || b;
      return li;
    }));
    const img = document.getElementById("poster-qr");
    await new Promise((resolve, reject) => {
      img.onload = resolve;
      img.onerror = () => reject(new Error("二维码图片无法显示。"));
      img.src = URL.createObjectURL(qr);
    });
    document.getElementById("poster").hidden = false;
    const button = document.getElementById("print-poster");
    button.hidden = false;
    Printable.printButtons(document);
  } catch (e) {
    Printable.fail(e.message);
  }
});
