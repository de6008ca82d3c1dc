// What the print version and the code poster share: they are opened from the console in a new tab and read the
// API with the console's session (their opener's), asking it to refresh an expired token (a refresh token is
// good once: only the console spends it).
"use strict";

window.Printable = (() => {
  const session = () => {
    try { return window.opener && window.opener.consoleSession; } catch (e) { return null; }
  };
  const token = () => (session() ? session().token() : sessionStorage.getItem("access_token"));

  async function get(path, accept = "application/json") {
    for (let tries = 0; ; tries++) {
      const headers = { Accept: accept, "Accept-Language": "zh-CN" };
      const bearer = token();
      if (bearer) headers.Authorization = `Bearer ${bearer}`;
      const response = await fetch(path, { headers });
      if (response.status === 401 && tries === 0 && session() && await session().refresh()) continue;
      if (response.status === 401) throw new Error("登录已过期：请回到工作台重新登录后再打开本页。");
      if (!response.ok) {
        let body = {};
        try { body = await response.json(); } catch (e) { /* not JSON: keep the status */ }
        throw new Error(body.detail || body.title || `HTTP ${response.status}`);
      }
      return response;
    }
  }

  function fail(text) {
    const box = document.createElement("div");
    box.className = "message error";
    box.textContent = text;
    document.getElementById("message").replaceChildren(box);
  }

  function printButtons(root) {
    for (const button of root.querySelectorAll("button.print")) button.addEventListener("click", () => window.print());
  }

  return { get, fail, printButtons };
})();
