// emopipe dashboard: one EventSource per tab (/api/stream), plain DOM + SVG, no libraries.
// Every value that comes from the pipeline (subject ids, labels, reasons, head names) is put into the
// page with textContent or setAttribute, never parsed as HTML.
"use strict";

const SVGNS = "http://www.w3.org/2000/svg";
const TIMELINE_MAX = 600;

const S = {
  subjects: new Map(),      // subject id -> latest fused event view
  timeline: [],             // events of the subject being viewed (oldest first)
  previews: {},             // modality -> preview of the subject being viewed
  subjectError: null,       // message when the subject view's request failed
  loadedSubject: null,      // subject whose history is in S.timeline
  pipeline: null,
  config: { stale_s: 20, offline_s: 120 },
  clockOffsetMs: 0,         // server clock - browser clock
  route: { view: "subjects" },
  renderPending: false,
};

// ---------- small DOM helpers (text only) ----------
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    if (k === "text") e.textContent = String(v);
    else if (k === "style") e.style.cssText = String(v);  // CSSOM: allowed by the page's CSP, unlike style=""
    else e.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}
function sv(tag, attrs, text) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}
function fmtPct(p) { return p === null || p === undefined ? "?" : `${Math.round(p * 100)}%`; }
function fmtAge(s) {
  if (s === null || !isFinite(s)) return "never";
  if (s < 1) return "just now";
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${(s / 3600).toFixed(1)} h ago`;
}
function fmtTime(ns) {
  if (typeof ns !== "number") return "?";
  return new Date(ns / 1e6).toISOString().replace("T", " ").slice(0, 19) + "Z";
}

// ---------- colours ----------
const LABEL_COLOURS = {
  "non-stress": "#16a34a", "non_stress": "#16a34a", "stress": "#dc2626", "neutral": "#6b7280",
  "high-arousal positive": "#f59e0b", "high-arousal negative": "#dc2626",
  "low-arousal negative": "#2563eb", "low-arousal positive": "#0d9488",
};
const PALETTE = ["#7c3aed", "#db2777", "#0891b2", "#65a30d", "#ea580c", "#4f46e5", "#be123c", "#0f766e"];
function labelColour(label) {
  if (Object.prototype.hasOwnProperty.call(LABEL_COLOURS, label)) return LABEL_COLOURS[label];
  let h = 0;
  for (const ch of String(label)) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

// ---------- status ----------
function nowServerMs() { return Date.now() + S.clockOffsetMs; }
function ageSeconds(view) {
  return typeof view.written_ms === "number" ? Math.max(0, (nowServerMs() - view.written_ms) / 1000) : null;
}
function statusOf(view) {
  const age = ageSeconds(view);
  if (age === null) return "offline";
  if (age < S.config.stale_s) return "live";
  if (age < S.config.offline_s) return "stale";
  return "offline";
}

// ---------- pieces ----------
function probRows(probs) {
  const box = el("div", { class: "probs" });
  const entries = Object.entries(probs || {}).sort((a, b) => b[1] - a[1]);
  for (const [name, p] of entries) {
    const bar = el("div", { class: "bar" });
    bar.append(el("span", { style: `width:${Math.max(0, Math.min(100, p * 100)).toFixed(1)}%;background:${labelColour(name)}` }));
    box.append(el("div", { class: "prob" }, el("span", { class: "name", text: name, title: name }), bar,
      el("span", { class: "pct", text: fmtPct(p) })));
  }
  return box;
}

function circumplex(view, size) {
  const r = size / 2 - 12, c = size / 2;
  const g = sv("svg", { class: "circumplex", width: size, height: size, viewBox: `0 0 ${size} ${size}`,
    "data-has-point": view.arousal !== null && view.valence !== null });
  g.append(sv("circle", { cx: c, cy: c, r, fill: "#f8fafc", stroke: "#cbd5e1" }));
  g.append(sv("line", { x1: c - r, y1: c, x2: c + r, y2: c, stroke: "#cbd5e1" }));
  g.append(sv("line", { x1: c, y1: c - r, x2: c, y2: c + r, stroke: "#cbd5e1" }));
  g.append(sv("text", { x: c + 3, y: 9 }, "arousal"));
  g.append(sv("text", { x: size - 34, y: c - 3 }, "valence"));
  const a = view.arousal, v = view.valence;
  if (typeof a === "number" && typeof v === "number") {
    // v2 heads' own readings as small dots, the fused point large
    for (const h of Object.values(view.heads || {})) {
      if (typeof h.arousal === "number" && typeof h.valence === "number") {
        g.append(sv("circle", { cx: c + h.valence * r, cy: c - h.arousal * r, r: 3, fill: "#94a3b8" }));
      }
    }
    const dot = sv("circle", { cx: c + Math.max(-1, Math.min(1, v)) * r, cy: c - Math.max(-1, Math.min(1, a)) * r,
      r: 6, fill: labelColour(view.label), stroke: "#fff", "stroke-width": 2, class: "av-point" });
    dot.append(sv("title", {}, `arousal ${a.toFixed(2)}, valence ${v.toFixed(2)}`));
    g.append(dot);
  } else {
    g.append(sv("text", { x: c, y: c + r / 2, "text-anchor": "middle" }, "no arousal/valence"));
  }
  return g;
}

function modChips(view) {
  const box = el("div", { class: "mods" });
  for (const [m, st] of Object.entries(view.modalities || {}).sort()) {
    const q = typeof st.quality === "number" ? st.quality : null;
    const reasons = st.reasons && st.reasons.length ? st.reasons.join("; ") : "no quality issues";
    const title = st.present ? `${m}: present, quality ${q === null ? "?" : q.toFixed(2)}; ${reasons}`
      + (typeof st.weight === "number" ? `; weight ${st.weight.toFixed(2)}` : "")
      : `${m}: missing in this window; ${reasons}`;
    box.append(el("span", { class: "mod", "data-modality": m, "data-present": st.present,
      "data-quality": q !== null && q < 0.5 ? "low" : "ok", title,
      text: st.present ? `${m} ${fmtPct(q)}` : `${m} missing` }));
  }
  return box;
}

function headsLine(view) {
  const hs = Object.entries(view.heads || {});
  if (!hs.length) return null;
  return el("div", { class: "heads", text: "heads: " + hs.map(([n, h]) =>
    `${n} ${h.label ?? "?"} (${typeof h.weight === "number" ? Math.round(h.weight * 100) + "%" : "?"})`).join(", ") });
}

function statusBadge(view) {
  const st = statusOf(view);
  return el("span", { class: "badge status", "data-status": st, text: st });
}

function tile(view) {
  const t = el("div", { class: "tile", "data-subject": view.subject_id, "data-status": statusOf(view) });
  const link = el("a", { href: `#/subject/${encodeURIComponent(view.subject_id)}`, text: view.subject_id });
  const head = el("div", { class: "tile-head" }, link, statusBadge(view));
  if (view.condition) head.append(el("span", { class: "condition", text: view.condition, title: "marked condition" }));
  if (view.synthetic) head.append(el("span", { class: "badge synthetic", text: "SYNTHETIC" }));
  t.append(head);
  const state = el("div", { class: "state" },
    el("span", { class: "label", style: `background:${labelColour(view.label)}`, text: view.label }),
    probRows(view.probabilities));
  t.append(el("div", { class: "tile-body" }, state, circumplex(view, 110)));
  t.append(modChips(view));
  const hl = headsLine(view);
  if (hl) t.append(hl);
  t.append(el("div", { class: "meta" },
    el("span", { class: "age", text: `last event ${fmtAge(ageSeconds(view))}` }),
    el("span", { text: view.model, title: `window ending ${fmtTime(view.window_end_ns)}` })));
  return t;
}

// ---------- views ----------
function viewSubjects(main) {
  main.append(el("h2", { text: `Subjects (${S.subjects.size})` }));
  if (!S.subjects.size) {
    main.append(el("div", { class: "empty", id: "no-subjects", text: "No events in Redis yet. Start a worker and a replay." }));
    return;
  }
  const grid = el("div", { class: "grid", id: "tiles" });
  for (const id of [...S.subjects.keys()].sort()) grid.append(tile(S.subjects.get(id)));
  main.append(grid);
}

function timelineSvg(events) {
  const W = 900, H = 190, padL = 34, padR = 8, top = 8, bandH = 14, plotH = H - top - bandH - 28;
  const g = sv("svg", { id: "timeline", width: "100%", height: H, viewBox: `0 0 ${W} ${H}`,
    preserveAspectRatio: "none", "data-points": events.length });
  if (!events.length) { g.append(sv("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "no events yet")); return g; }
  const t0 = events[0].window_end_ns, t1 = events[events.length - 1].window_end_ns;
  const span = Math.max(1, t1 - t0);
  const x = (t) => padL + ((t - t0) / span) * (W - padL - padR);
  const y = (p) => top + (1 - p) * plotH;
  for (const p of [0, 0.5, 1]) {
    g.append(sv("line", { x1: padL, x2: W - padR, y1: y(p), y2: y(p), stroke: "#e5e7eb" }));
    g.append(sv("text", { x: 2, y: y(p) + 3 }, p.toFixed(1)));
  }
  const classes = new Set();
  for (const e of events) for (const k of Object.keys(e.probabilities)) classes.add(k);
  for (const k of classes) {
    const pts = events.filter((e) => typeof e.probabilities[k] === "number")
      .map((e) => `${x(e.window_end_ns).toFixed(1)},${y(e.probabilities[k]).toFixed(1)}`).join(" ");
    const line = sv("polyline", { points: pts, fill: "none", stroke: labelColour(k), "stroke-width": 1.6, "data-class": k });
    line.append(sv("title", {}, k));
    g.append(line);
  }
  // colour band: the label of each window
  const bandY = top + plotH + 6;
  events.forEach((e, i) => {
    const xa = x(e.window_end_ns), xb = i + 1 < events.length ? x(events[i + 1].window_end_ns) : W - padR;
    const r = sv("rect", { x: xa, y: bandY, width: Math.max(1, xb - xa), height: bandH, fill: labelColour(e.label), class: "band" });
    r.append(sv("title", {}, `${fmtTime(e.window_end_ns)}: ${e.label}`));
    g.append(r);
  });
  g.append(sv("text", { x: padL, y: H - 4 }, fmtTime(t0)));
  g.append(sv("text", { x: W - padR, y: H - 4, "text-anchor": "end" }, fmtTime(t1)));
  return g;
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
function levelsOf(text) { return [...text].map((ch) => ALPHABET.indexOf(ch)); }  // '.' -> -1 (missing)

function sparkline(pv, ch) {
  const W = 600, H = 54, L = typeof pv.levels === "number" ? pv.levels : 63;
  const g = sv("svg", { width: "100%", height: H, viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none",
    class: "spark", "data-modality": pv.modality });
  const q = levelsOf(ch.y), X0 = 56, PW = W - X0 - 4;
  const y = (lv) => (H - 4) - (lv / L) * (H - 8);
  if (ch.mode === "minmax") {
    const n = q.length / 2, up = [], down = [];
    for (let i = 0; i < n; i++) {
      const lo = q[2 * i], hi = q[2 * i + 1];
      if (lo < 0 || hi < 0) continue;
      const xx = X0 + (i + 0.5) / n * PW;
      down.push(`${xx.toFixed(1)},${y(lo).toFixed(1)}`);
      up.push(`${xx.toFixed(1)},${y(hi).toFixed(1)}`);
    }
    g.append(sv("polygon", { points: up.concat(down.reverse()).join(" "), fill: "#93c5fd", stroke: "#2563eb", "stroke-width": 0.8 }));
  } else {
    const n = q.length, pts = [];
    q.forEach((lv, i) => { if (lv >= 0) pts.push(`${(X0 + (n > 1 ? i / (n - 1) * PW : PW / 2)).toFixed(1)},${y(lv).toFixed(1)}`); });
    g.append(sv("polyline", { points: pts.join(" "), fill: "none", stroke: "#2563eb", "stroke-width": 1.5 }));
  }
  g.append(sv("text", { x: 2, y: 9 }, String(ch.hi)));
  g.append(sv("text", { x: 2, y: H - 2 }, String(ch.lo)));
  return g;
}

function signalsCard(previews, latest) {
  const card = el("div", { class: "card", id: "signals" }, el("h3", { text: "Last window's signals" }));
  const mods = Object.keys(previews).sort();
  if (!mods.length) {
    card.append(el("div", { class: "muted", text: "no window previews yet (the worker's preview stage writes them)" }));
    return card;
  }
  for (const m of mods) {
    const pv = previews[m];
    const inEvent = latest && latest.modalities ? latest.modalities[m] : undefined;
    const reasons = pv.reasons && pv.reasons.length ? pv.reasons.join("; ") : "no quality issues";
    const chip = el("span", { class: "mod", "data-modality": m, "data-present": "true",
      "data-quality": pv.quality < 0.5 ? "low" : "ok", title: reasons, text: `quality ${fmtPct(pv.quality)}` });
    const gone = inEvent && !inEvent.present
      ? el("div", { class: "mod", "data-present": "false", "data-modality": m, title: "the latest event has no window of this modality",
        text: "missing now" }) : null;
    const names = pv.channels.map((c) => c.name).join(", ");
    const info = el("div", { class: "sinfo", text: `${fmtTime(pv.end_ns)} · ${pv.fs_hz} Hz · ${names}`
      + (pv.n_channels > pv.channels.length && pv.modality !== "acc" ? ` (${pv.channels.length} of ${pv.n_channels} channels)` : "")
      + (pv.modality === "acc" && pv.n_channels >= 3 ? " of the 3 axes" : "")
      + ` · gaps ${fmtPct(pv.gap_fraction)}` });
    const plots = el("div", {});
    for (const ch of pv.channels) plots.append(sparkline(pv, ch));
    card.append(el("div", { class: "signal", "data-modality": m },
      el("div", {}, el("div", { class: "sname", text: m }), chip, gone), el("div", {}, plots, info)));
  }
  return card;
}

function headsCard(latest) {
  const card = el("div", { class: "card", id: "heads" }, el("h3", { text: "Heads' contributions" }));
  const hs = Object.entries((latest && latest.heads) || {});
  if (!hs.length) {
    card.append(el("div", { class: "muted", text: "this event has no per-head readings (event schema v1: one model)" }));
    return card;
  }
  const tb = el("tbody");
  for (const [name, h] of hs.sort((a, b) => (b[1].weight ?? 0) - (a[1].weight ?? 0))) {
    const bar = el("div", { class: "bar" });
    bar.append(el("span", { style: `width:${((h.weight ?? 0) * 100).toFixed(1)}%;background:#2563eb` }));
    tb.append(el("tr", { "data-head": name }, el("td", { text: name, title: h.model }), el("td", { text: h.label ?? "?" }),
      el("td", {}, bar), el("td", { class: "num", text: fmtPct(h.weight) }), el("td", { class: "num", text: fmtPct(h.quality) }),
      el("td", { text: (h.modalities || []).join(", ") + (h.synthetic ? " (SYNTHETIC)" : "") })));
  }
  card.append(el("table", {}, el("thead", {}, el("tr", {}, ...["head", "label", "weight", "", "quality", "modalities"]
    .map((t) => el("th", { text: t })))), tb));
  return card;
}

function median(xs) {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b), i = Math.floor(s.length / 2);
  return s.length % 2 ? s[i] : (s[i - 1] + s[i]) / 2;
}

function latencyCard(latest, events) {
  const card = el("div", { class: "card", id: "latency" }, el("h3", { text: "End-to-end latency (latest event)" }));
  const lat = (latest && latest.latency_ms) || {};
  if (!Object.keys(lat).length) { card.append(el("div", { class: "muted", text: "no latency stamps" })); return card; }
  const tb = el("tbody");
  for (const [step, ms] of Object.entries(lat)) {
    tb.append(el("tr", {}, el("td", { text: step.replace(/_/g, " ") }), el("td", { class: "num", text: `${ms.toFixed(1)} ms` })));
  }
  const totals = events.map((e) => e.latency_ms && e.latency_ms.total).filter((v) => typeof v === "number");
  const med = median(totals);
  if (med !== null) tb.append(el("tr", {}, el("td", { text: `median total over ${totals.length} events` }),
    el("td", { class: "num", text: `${med.toFixed(1)} ms` })));
  card.append(el("table", {}, tb));
  return card;
}

function viewSubject(main, id) {
  main.append(el("a", { class: "back", href: "#/", text: "← all subjects" }));
  if (S.subjectError) { main.append(el("div", { class: "error", id: "subject-error", text: S.subjectError })); return; }
  const latest = S.subjects.get(id) || S.timeline[S.timeline.length - 1];
  const h = el("h2", { text: `Subject ${id}` });
  if (latest) h.append(" ", statusBadge(latest));
  main.append(h);
  if (S.loadedSubject !== id) { main.append(el("div", { class: "muted", text: "loading…" })); return; }
  if (latest) main.append(el("div", { class: "row single" }, tile(latest)));
  const tl = el("div", { class: "card" }, el("h3", { text: `Timeline (${S.timeline.length} recent windows)` }), timelineSvg(S.timeline));
  const classes = new Set();
  for (const e of S.timeline) for (const k of Object.keys(e.probabilities)) classes.add(k);
  const legend = el("div", { class: "legend" });
  for (const k of classes) legend.append(el("span", {}, el("i", { style: `background:${labelColour(k)}` }), k));
  tl.append(legend);
  main.append(tl);
  main.append(el("div", { class: "row" }, signalsCard(S.previews, latest), el("div", { class: "side" },
    headsCard(latest), latencyCard(latest, S.timeline))));
}

function num(v, digits) { return typeof v === "number" ? v.toFixed(digits ?? 0) : "–"; }

function viewPipeline(main) {
  main.append(el("h2", { text: "Pipeline" }));
  const p = S.pipeline;
  if (!p || !p.available) {
    main.append(el("div", { class: "error", id: "metrics-unavailable",
      text: p && !p.pending ? "worker metrics unavailable: no worker answered /metrics with emopipe metrics"
        : "worker metrics unavailable (waiting for the first reading)" }));
  }
  const wtb = el("tbody");
  for (const w of (p && p.workers) || []) {
    wtb.append(el("tr", { "data-worker": w.url },
      el("td", { text: w.url }), el("td", { text: w.worker || "?" }),
      el("td", {}, el("span", { class: "badge health", "data-status": w.alive ? "live" : w.reachable ? "stale" : "offline",
        text: w.alive ? "alive" : w.reachable ? "up, no /health" : "unreachable" })),
      el("td", { text: (w.stages || []).join(", ") }), el("td", { class: "num", text: num(w.uptime_s) }),
      el("td", { class: "muted", text: w.error || "" })));
  }
  main.append(el("div", { class: "card" }, el("h3", { text: "Workers" }), el("table", { id: "workers" },
    el("thead", {}, el("tr", {}, ...["url", "worker", "health", "stages", "uptime s", "errors"].map((t) => el("th", { text: t })))), wtb)));
  if (!p || !p.available) return;
  const stb = el("tbody");
  for (const [stage, v] of Object.entries(p.stages || {})) {
    stb.append(el("tr", { "data-stage": stage }, el("td", { text: stage }), el("td", { class: "num", text: num(v.lag) }),
      el("td", { class: "num", text: num(v.messages_per_s, 1) }), el("td", { class: "num", text: num(v.outputs_per_s, 1) }),
      el("td", { class: "num", text: num(v.messages_total) }), el("td", { class: "num", text: num(v.outputs_total) }),
      el("td", { class: "num", text: num(v.errors_total) })));
  }
  main.append(el("div", { class: "card" }, el("h3", { text: "Stages" }), el("table", { id: "stages" },
    el("thead", {}, el("tr", {}, ...["stage", "lag (messages)", "in /s", "out /s", "messages", "outputs", "errors"]
      .map((t, i) => el("th", { class: i ? "num" : null, text: t })))), stb)));
  const dl = el("div", { class: "card", id: "dead-letters" }, el("h3", { text: `Dead letters: ${p.dead_letters_total}` }));
  const reasons = Object.entries(p.dead_letter_reasons || {});
  if (reasons.length) dl.append(el("div", { class: "muted", text: reasons.map(([r, n]) => `${r}: ${n}`).join(" · ") }));
  if ((p.last_dead_letters || []).length) {
    const tb = el("tbody");
    for (const d of p.last_dead_letters) {
      tb.append(el("tr", {}, el("td", { text: typeof d.time_ms === "number" ? new Date(d.time_ms).toISOString() : "?" }),
        el("td", { text: d.stage ?? "?" }), el("td", { text: d.reason ?? "?" }), el("td", { text: d.topic ?? "?" }),
        el("td", { class: "num", text: `${d.partition ?? "?"}/${d.offset ?? "?"}` })));
    }
    dl.append(el("table", {}, el("thead", {}, el("tr", {}, ...["time", "stage", "reason", "topic", "partition/offset"]
      .map((t) => el("th", { text: t })))), tb));
  }
  main.append(dl);
}

// ---------- routing and rendering ----------
function parseRoute() {
  const h = location.hash || "#/";
  const m = h.match(/^#\/subject\/(.+)$/);
  if (m) {
    try { return { view: "subject", id: decodeURIComponent(m[1]) }; } catch (_) { return { view: "subject", id: m[1] }; }
  }
  if (h === "#/pipeline") return { view: "pipeline" };
  return { view: "subjects" };
}

function render() {
  S.renderPending = false;
  const main = document.getElementById("main");
  const scrollY = window.scrollY;
  main.replaceChildren();
  document.getElementById("nav-subjects").className = S.route.view !== "pipeline" ? "active" : "";
  document.getElementById("nav-pipeline").className = S.route.view === "pipeline" ? "active" : "";
  if (S.route.view === "subject") viewSubject(main, S.route.id);
  else if (S.route.view === "pipeline") viewPipeline(main);
  else viewSubjects(main);
  window.scrollTo(0, scrollY);
}
function scheduleRender() {
  if (S.renderPending) return;
  S.renderPending = true;
  setTimeout(render, 200);
}

async function loadSubject(id) {
  S.timeline = []; S.previews = {}; S.subjectError = null; S.loadedSubject = null;
  render();
  try {
    const resp = await fetch(`/api/subjects/${encodeURIComponent(id)}?count=300`, { cache: "no-store" });
    const body = await resp.json();
    if (parseRoute().id !== id) return;
    if (!resp.ok) { S.subjectError = body.error || `HTTP ${resp.status}`; render(); return; }
    S.timeline = body.events;
    S.previews = body.previews;
    S.loadedSubject = id;
  } catch (err) {
    S.subjectError = `could not load subject ${id}: ${err}`;
  }
  render();
}

function onRoute() {
  S.route = parseRoute();
  if (S.route.view === "subject") loadSubject(S.route.id); else render();
}

function onEvent(view) {
  if (view.kind === "head") return;
  const cur = S.subjects.get(view.subject_id);
  if (!cur || cur.window_end_ns <= view.window_end_ns) S.subjects.set(view.subject_id, view);
  if (S.route.view === "subject" && S.loadedSubject === view.subject_id) {
    const last = S.timeline[S.timeline.length - 1];
    if (!last || last.window_end_ns < view.window_end_ns) S.timeline.push(view);
    else if (!S.timeline.some((e) => e.window_end_ns === view.window_end_ns)) {
      S.timeline.push(view); S.timeline.sort((a, b) => a.window_end_ns - b.window_end_ns);
    }
    if (S.timeline.length > TIMELINE_MAX) S.timeline.splice(0, S.timeline.length - TIMELINE_MAX);
  }
  if (S.route.view !== "pipeline") scheduleRender();
}

function connect() {
  const conn = document.getElementById("conn");
  const es = new EventSource("/api/stream");
  const setConn = (state, text) => { conn.dataset.state = state; conn.textContent = text; };
  es.onopen = () => setConn("live", "live");
  es.onerror = () => setConn("reconnecting", "reconnecting…");
  es.addEventListener("snapshot", (m) => {
    const d = JSON.parse(m.data);
    S.clockOffsetMs = d.server_now_ms - Date.now();
    S.subjects = new Map(d.subjects.map((v) => [v.subject_id, v]));
    S.pipeline = d.pipeline;
    setConn("live", "live");
    scheduleRender();
  });
  es.addEventListener("config", (m) => { S.config = JSON.parse(m.data); scheduleRender(); });
  es.addEventListener("event", (m) => onEvent(JSON.parse(m.data)));
  es.addEventListener("preview", (m) => {
    const pv = JSON.parse(m.data);
    if (S.route.view === "subject" && S.loadedSubject === pv.subject_id) {
      const cur = S.previews[pv.modality];
      if (!cur || cur.end_ns <= pv.end_ns) { S.previews[pv.modality] = pv; scheduleRender(); }
    }
  });
  es.addEventListener("pipeline", (m) => {
    S.pipeline = JSON.parse(m.data);
    if (S.route.view === "pipeline") scheduleRender();
  });
}

window.addEventListener("hashchange", onRoute);
window.addEventListener("DOMContentLoaded", () => {
  connect();
  onRoute();
  setInterval(() => { if (S.route.view !== "pipeline") scheduleRender(); }, 1000);  // ages and badges
});
