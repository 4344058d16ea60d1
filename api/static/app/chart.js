// Small hand-written SVG charts: bars, optionally with a second series drawn as a line
// (e.g. today's footfall against the usual). No library, no canvas: crisp on any screen.
const NS = "http://www.w3.org/2000/svg";

function node(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

// labels: x labels; bars: numbers (null = no data); line: numbers or null; opts.title for
// screen readers.
export function barChart({ labels, bars, line = null, title = "", height = 160, barClass = "bar" }) {
  const width = Math.max(280, labels.length * 22);
  const pad = { top: 12, right: 6, bottom: 22, left: 28 };
  const values = [...bars, ...(line || [])].filter((v) => typeof v === "number");
  const max = Math.max(1, ...values);
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const step = plotW / Math.max(1, labels.length);
  const y = (v) => pad.top + plotH - (v / max) * plotH;
  const svg = node("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "chart" });
  svg.append(node("title", {}, title));
  for (const tick of [0, max / 2, max]) {
    svg.append(node("line", { x1: pad.left, x2: width - pad.right, y1: y(tick), y2: y(tick), class: "grid" }));
    svg.append(node("text", { x: pad.left - 4, y: y(tick) + 3, class: "axis", "text-anchor": "end" },
      Number.isInteger(tick) ? tick : tick.toFixed(1)));
  }
  bars.forEach((value, i) => {
    if (typeof value !== "number") return;
    const x = pad.left + i * step + step * 0.15;
    const bar = node("rect", { x, y: y(value), width: step * 0.7, height: Math.max(0, pad.top + plotH - y(value)), class: barClass, rx: 2 });
    bar.append(node("title", {}, `${labels[i]}: ${value}`));
    svg.append(bar);
  });
  if (line) {
    const points = line.map((v, i) => (typeof v === "number" ? `${pad.left + i * step + step / 2},${y(v)}` : null)).filter(Boolean);
    if (points.length) svg.append(node("polyline", { points: points.join(" "), class: "usual" }));
  }
  const every = Math.ceil(labels.length / 12);
  labels.forEach((label, i) => {
    if (i % every) return;
    svg.append(node("text", { x: pad.left + i * step + step / 2, y: height - 6, class: "axis", "text-anchor": "middle" }, label));
  });
  return svg;
}

// Grouped bars: one group per label, one bar per series ({name, values, cls}).
export function groupedBars({ labels, series, title = "", height = 180 }) {
  const width = Math.max(280, labels.length * series.length * 26 + 40);
  const pad = { top: 12, right: 6, bottom: 22, left: 28 };
  const max = Math.max(1, ...series.flatMap((s) => s.values.filter((v) => typeof v === "number")));
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const group = plotW / Math.max(1, labels.length);
  const barW = Math.min((group * 0.8) / series.length, 40);
  const inset = (group - barW * series.length) / 2;
  const y = (v) => pad.top + plotH - (v / max) * plotH;
  const svg = node("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "chart" });
  svg.append(node("title", {}, title));
  for (const tick of [0, max]) {
    svg.append(node("line", { x1: pad.left, x2: width - pad.right, y1: y(tick), y2: y(tick), class: "grid" }));
    svg.append(node("text", { x: pad.left - 4, y: y(tick) + 3, class: "axis", "text-anchor": "end" }, tick));
  }
  labels.forEach((label, i) => {
    series.forEach((s, j) => {
      const value = s.values[i];
      if (typeof value !== "number") return;
      const x = pad.left + i * group + inset + j * barW;
      const bar = node("rect", { x, y: y(value), width: barW * 0.9, height: pad.top + plotH - y(value), class: s.cls, rx: 2 });
      bar.append(node("title", {}, `${label} · ${s.name}: ${value}`));
      svg.append(bar);
    });
    svg.append(node("text", { x: pad.left + i * group + group / 2, y: height - 6, class: "axis", "text-anchor": "middle" }, label));
  });
  return svg;
}
