// The public pages' words: one language at a time, Chinese unless the reader picks English (the switch in the
// header, or ?lang=en in a link); the choice is remembered on this device.
"use strict";

window.Lang = (() => {
  let words = { zh: {} }, onChange = () => {};
  const asked = new URLSearchParams(location.search).get("lang");
  let current = asked === "en" || asked === "zh" ? asked : localStorage.getItem("public-lang") || "zh";
  const t = (key) => (words[current] || {})[key] ?? words.zh[key] ?? key;

  function apply() {
    document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
    for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
    document.title = t("title");
    const button = document.getElementById("lang-switch");
    button.textContent = current === "zh" ? "English" : "中文";
    button.setAttribute("lang", current === "zh" ? "en" : "zh-CN");
  }

  function setup(dictionary, changed) {
    words = dictionary;
    onChange = changed || onChange;
    document.getElementById("lang-switch").addEventListener("click", () => {
      current = current === "zh" ? "en" : "zh";
      localStorage.setItem("public-lang", current);
      apply();
      onChange();
    });
    apply();
  }

  return { t, setup, get current() { return current; } };
})();
