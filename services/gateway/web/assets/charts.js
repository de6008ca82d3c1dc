// SVG charts drawn in the page: no library, nothing fetched. Each returns a box (div.chart-box) holding one
// <svg class="chart">, drawn at the box's own width in CSS pixels (one SVG unit is one pixel, so text keeps
// its size on a phone) and drawn again when the box changes width. Labels are measured before they are
// placed: a long name gets a line of its own above its bar, or is shortened with "…" (the full name in
// its tooltip); nothing is drawn over anything else.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const PALETTE = ["#2f6fb0", "#e07b39", "#3a9a5b", "#b8474d", "#7c5cad", "#8c6d46", "#c15b9e", "#6b7280",
                 "#1b9aaa", "#c9a227"];
const FONT = 13, TICK = 12, GAP = 8;

function svgEl(name, attrs, text) {
  const el = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

let ruler;
function textWidth(text, size = FONT) {
  ruler = ruler || document.createElement("canvas").getContext("2d");
  const family = getComputedStyle(document.documentElement).fontFamily || "sans-serif";
  ruler.font = `${size}px ${family}`;
  return Math.ceil(ruler.measureText(String(text)).width * 1.05) + 2;  // a little slack for the real font
}

// The text, shortened with "…" until it fits `width`; its full form goes in a <title>.
function label(text, width, attrs, size = FONT) {
  let shown = String(text);
  while (shown.length > 1 && textWidth(shown, size) > width) shown = shown.slice(0, -2) + "…";
  const el = svgEl("text", attrs, shown);
  if (shown !== String(text)) el.append(svgEl("title", {}, String(text)));
  return el;
}

// A box that draws `draw(width)` now (at a guess) and again at its real width whenever that changes.
function responsive(title, draw) {
  const box = document.createElement("div");
  box.className = "chart-box";
  let drawn = 0;
  const paint = (width) => {
    width = Math.floor(width);
    if (width < 120 || width === drawn) return;
    drawn = width;
    const svg = draw(width);
    svg.setAttribute("class", "chart");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", title || "");
    svg.setAttribute("font-size", FONT);
    const old = box.querySelector("svg.chart");
    if (old) old.replaceWith(svg); else box.prepend(svg);
  };
  paint(520);
  if (window.ResizeObserver) new ResizeObserver((entries) => paint(entries[0].contentRect.width)).observe(box);
  return box;
}

// Horizontal bars: [{label, value, text?}], value scaled to the largest (or to `max`).
function barChart(rows, { max, title } = {}) {
  const top = max || Math.max(1, ...rows.map((r) => r.value));
  return responsive(title, (width) => {
    const valueWidth = Math.max(0, ...rows.map((r) => textWidth(r.text ?? String(r.value)))) + GAP;
    const labelWidth = Math.max(0, ...rows.map((r) => textWidth(r.label)));
    const beside = labelWidth + GAP <= width * 0.4;  // else each label has a line of its own above its bar
    const barX = beside ? labelWidth + GAP : 0, barMax = Math.max(width - barX - valueWidth, 10);
    const rowHeight = beside ? 26 : 44, bar = 18;
    const svg = svgEl("svg", { width, height: Math.max(rows.length, 1) * rowHeight + 4,
                               viewBox: `0 0 ${width} ${Math.max(rows.length, 1) * rowHeight + 4}` });
    rows.forEach((r, i) => {
      const y = i * rowHeight + (beside ? 4 : 22), length = (barMax * r.value) / top;
      svg.append(label(r.label, beside ? labelWidth : width, { x: 0, y: beside ? y + 14 : y - 6, class: "label" }));
      svg.append(svgEl("rect", { x: barX, y, width: Math.max(length, 0.5), height: bar, fill: PALETTE[0] }));
      svg.append(svgEl("text", { x: barX + length + 4, y: y + 14, class: "value" }, r.text ?? String(r.value)));
    });
    return svg;
  });
}

// Stacked columns: categories along x (days, YYYY-MM-DD), one colour per series (channels); the legend is
// a list under the chart, so that it wraps like text.
function stackedColumns(categories, series, { title } = {}) {
  const totals = categories.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] || 0), 0));
  const top = Math.max(1, ...totals);
  const box = responsive(title, (width) => {
    const plot = 180, left = textWidth(String(top), TICK) + 4;
    const svg = svgEl("svg", { width, height: plot + 24, viewBox: `0 0 ${width} ${plot + 24}` });
    const step = (width - left) / Math.max(categories.length, 1);
    const tickWidth = textWidth("12-31", TICK) + GAP, every = Math.max(1, Math.ceil(tickWidth / step));
    svg.append(svgEl("text", { x: 0, y: 14, class: "tick" }, String(top)));
    svg.append(svgEl("line", { x1: left, y1: plot, x2: width, y2: plot, stroke: "#999" }));
    categories.forEach((cat, i) => {
      let y = plot;
      series.forEach((s, k) => {
        const h = (plot - 20) * (s.values[i] || 0) / top;
        if (h > 0) {
          y -= h;
          const rect = svgEl("rect", { x: left + i * step + step * 0.15, y, width: step * 0.7, height: h,
                                       fill: PALETTE[k % PALETTE.length] });
          rect.append(svgEl("title", {}, `${cat} ${s.label}: ${s.values[i]}`));
          svg.append(rect);
        }
      });
      if (i % every === 0) {
        svg.append(svgEl("text", { x: left + i * step + step / 2, y: plot + 17, "text-anchor": "middle",
                                   class: "tick" }, cat.slice(5)));
      }
    });
    return svg;
  });
  const legend = document.createElement("ul");
  legend.className = "legend";
  series.forEach((s, k) => {
    const item = document.createElement("li");
    const swatch = svgEl("svg", { width: 12, height: 12, viewBox: "0 0 12 12", "aria-hidden": "true" });
    swatch.append(svgEl("rect", { width: 12, height: 12, fill: PALETTE[k % PALETTE.length] }));
    item.append(swatch, document.createTextNode(s.label));
    legend.append(item);
  });
  box.append(legend);
  return box;
}

window.Charts = { barChart, stackedColumns };
