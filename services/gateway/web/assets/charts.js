// SVG charts drawn in the page: no library, nothing fetched. Each returns an <svg> element.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const PALETTE = ["#2f6fb0", "#e07b39", "#3a9a5b", "#b8474d", "#7c5cad", "#8c6d46", "#c15b9e", "#6b7280",
                 "#1b9aaa", "#c9a227"];

function svgEl(name, attrs, text) {
  const el = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

// Horizontal bars: [{label, value, text?}], value scaled to the largest (or to `max`).
function barChart(rows, { max, title } = {}) {
  const height = Math.max(rows.length, 1) * 26 + 8;
  const svg = svgEl("svg", { viewBox: `0 0 520 ${height}`, class: "chart", role: "img",
                             "aria-label": title || "" });
  const top = max || Math.max(1, ...rows.map((r) => r.value));
  rows.forEach((r, i) => {
    const y = i * 26 + 4, width = (300 * r.value) / top;
    svg.append(svgEl("text", { x: 0, y: y + 14 }, r.label));
    svg.append(svgEl("rect", { x: 160, y, width: Math.max(width, 0.5), height: 18, fill: PALETTE[0] }));
    svg.append(svgEl("text", { x: 166 + width, y: y + 14 }, r.text ?? String(r.value)));
  });
  return svg;
}

// Stacked columns: categories along x (days), one colour per series (channels), with a legend.
function stackedColumns(categories, series, { title } = {}) {
  const width = 520, plot = 180, left = 30, legendRows = Math.ceil(series.length / 3);
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${plot + 40 + legendRows * 18}`, class: "chart",
                             role: "img", "aria-label": title || "" });
  const totals = categories.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] || 0), 0));
  const top = Math.max(1, ...totals);
  const step = (width - left) / Math.max(categories.length, 1);
  svg.append(svgEl("text", { x: 0, y: 12 }, String(top)));
  svg.append(svgEl("line", { x1: left, y1: plot, x2: width, y2: plot, stroke: "#999" }));
  categories.forEach((cat, i) => {
    let y = plot;
    series.forEach((s, k) => {
      const h = (plot - 10) * (s.values[i] || 0) / top;
      if (h > 0) {
        y -= h;
        const rect = svgEl("rect", { x: left + i * step + step * 0.15, y, width: step * 0.7, height: h,
                                     fill: PALETTE[k % PALETTE.length] });
        rect.append(svgEl("title", {}, `${cat} ${s.label}: ${s.values[i]}`));
        svg.append(rect);
      }
    });
    if (categories.length <= 16 || i % Math.ceil(categories.length / 16) === 0) {
      svg.append(svgEl("text", { x: left + i * step + step / 2, y: plot + 14, "text-anchor": "middle",
                                 class: "tick" }, cat.slice(5)));
    }
  });
  series.forEach((s, k) => {
    const x = (k % 3) * 170, y = plot + 32 + Math.floor(k / 3) * 18;
    svg.append(svgEl("rect", { x, y: y - 10, width: 10, height: 10, fill: PALETTE[k % PALETTE.length] }));
    svg.append(svgEl("text", { x: x + 14, y }, s.label));
  });
  return svg;
}

window.Charts = { barChart, stackedColumns };
