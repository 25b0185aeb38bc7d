/* powderkeg dashboard: plain JavaScript over the JSON API of the same origin. */
"use strict";

const $ = (id) => document.getElementById(id);
const PLOT_CONFIG = { responsive: true, displaylogo: false };

function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    for (const v of Array.isArray(value) ? value : [value]) q.append(key, String(v));
  }
  return q.toString();
}

function describeError(status, body) {
  const detail = body && body.detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => `${(d.loc || []).slice(1).join(".") || "request"}: ${d.msg}`).join("; ");
  }
  return `${status}: ${detail || "request failed"}`;
}

class ApiError extends Error {
  constructor(status, body) {
    super(describeError(status, body));
    this.status = status;
  }
}

async function api(path, options = {}) {
  const response = await fetch(path, options);
  let body = null;
  try {
    body = await response.json();
  } catch (_err) {
    body = null;
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function setText(id, text, isError = false) {
  const el = $(id);
  el.textContent = text;
  el.classList.toggle("error", isError);
}

function xy(points) {
  return { x: points.map((p) => p.date), y: points.map((p) => p.value) };
}

function clipFrom(points, start) {
  return start ? points.filter((p) => p.date >= start) : points;
}

function fillSelect(id, symbols, preferred) {
  const select = $(id);
  select.replaceChildren(...symbols.map((s) => new Option(s, s)));
  const pick = preferred.find((p) => symbols.includes(p));
  if (pick) select.value = pick;
}

/* ----------------------------------------------------------------------------- linkage */
async function plotCorrelation(event) {
  if (event) event.preventDefault();
  const a = $("corr-a").value;
  const b = $("corr-b").value;
  setText("corr-statement", `computing ${a} vs ${b}…`);
  try {
    const result = await api(`/api/link/corr?${query({
      a, b, window: $("corr-window").value, method: $("corr-method").value,
      on: $("corr-on").value, asof: $("corr-asof").value,
    })}`);
    const points = clipFrom(result.series.filter((p) => p.value !== null), $("corr-start").value);
    const line = xy(points);
    await Plotly.react("corr-chart", [{ ...line, type: "scatter", mode: "lines", name: "correlation" }], {
      title: { text: `${a} vs ${b}: rolling ${result.method} correlation (window ${result.window})` },
      yaxis: { range: [-1, 1], title: { text: "correlation" } },
      margin: { t: 50, r: 20 },
    }, PLOT_CONFIG);
    setText("corr-statement", result.statement || `value ${result.value} on ${result.end}`);
  } catch (err) {
    setText("corr-statement", err.message, true);
  }
}

/* ----------------------------------------------------------------------------- bubbles */
function drawPsy(result, target) {
  const traces = [{ ...xy(result.bsadf), type: "scatter", mode: "lines", name: "BSADF" }];
  const cv = (result.cv_sequence || []).filter((p) => p.value !== null);
  if (cv.length) {
    traces.push({ ...xy(cv), type: "scatter", mode: "lines", name: `${result.level} critical value`,
      line: { dash: "dash" } });
  }
  const shapes = (result.episodes || []).map((e) => ({
    type: "rect", xref: "x", yref: "paper", x0: e.start, x1: e.end, y0: 0, y1: 1,
    fillcolor: "rgba(220,38,38,0.12)", line: { width: 0 },
  }));
  return Plotly.react(target, traces, {
    title: { text: `${result.provenance.parameters.symbol || ""} PSY BSADF (${result.test})` },
    shapes, margin: { t: 50, r: 20 },
  }, PLOT_CONFIG);
}

function psyStatement(result) {
  const cv = result.critical_values || {};
  const parts = [`GSADF ${Number(result.stat).toFixed(3)}`];
  if (result.pvalue !== null && result.pvalue !== undefined) parts.push(`p = ${result.pvalue}`);
  if (cv["95%"] !== undefined && cv["95%"] !== null) parts.push(`95% cv ${Number(cv["95%"]).toFixed(3)}`);
  parts.push(`${(result.episodes || []).length} episode(s), ${result.nobs} observations`);
  return parts.join(" · ");
}

async function plotPsy(event) {
  if (event) event.preventDefault();
  const params = {
    symbol: $("psy-symbol").value, freq: $("psy-freq").value, start: $("psy-start").value,
    asof: $("psy-asof").value, cv: $("psy-cv").value, reps: $("psy-reps").value,
    seed: $("psy-seed").value,
  };
  setText("psy-statement", `computing ${params.symbol}…`);
  let note = "";
  let result;
  try {
    try {
      result = await api(`/api/bubble/psy?${query(params)}`);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 409) throw err;
      note = " · critical values not computed yet for these settings: submit a PSY job below";
      result = await api(`/api/bubble/psy?${query({ ...params, cv: "none" })}`);
    }
    await drawPsy(result, "psy-chart");
    setText("psy-statement", psyStatement(result) + note);
  } catch (err) {
    setText("psy-statement", err.message, true);
  }
}

/* --------------------------------------------------------------------------- liquidity */
async function plotLiquidity(event) {
  if (event) event.preventDefault();
  setText("liq-statement", "computing…");
  try {
    const result = await api(`/api/liq/net?${query({ start: $("liq-start").value, asof: $("liq-asof").value })}`);
    const rows = result.series || [];
    const traces = ["net_liquidity", "walcl", "tga", "rrp"].map((key) => ({
      x: rows.map((r) => r.date), y: rows.map((r) => r[key]), type: "scatter", mode: "lines",
      name: key === "net_liquidity" ? "net liquidity" : key.toUpperCase(),
      visible: key === "net_liquidity" ? true : "legendonly",
    }));
    await Plotly.react("liq-chart", traces, {
      title: { text: `Fed net liquidity (${result.unit})` }, margin: { t: 50, r: 20 },
    }, PLOT_CONFIG);
    const changes = Object.entries(result.changes || {})
      .map(([k, v]) => `${k} ${Number.isFinite(Number(v)) && v !== null ? Number(v).toFixed(1) : "n/a"}`)
      .join(", ");
    setText("liq-statement", `${Number(result.value).toFixed(1)} ${result.unit} as of ${result.asof}` +
      (changes ? ` · changes: ${changes}` : ""));
  } catch (err) {
    setText("liq-statement", err.message, true);
  }
}

/* -------------------------------------------------------------------------------- jobs */
function formatCell(value) {
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toPrecision(4);
  if (Array.isArray(value)) return `[${value.length} values]`;
  return String(value);
}

function kvTable(entries, depth = 0) {
  const table = document.createElement("table");
  table.className = "kv";
  for (const [key, value] of entries) {
    const row = table.insertRow();
    const th = document.createElement("th");
    th.textContent = key;
    row.appendChild(th);
    const cell = row.insertCell();
    if (value && typeof value === "object" && !Array.isArray(value) && depth < 2) {
      cell.appendChild(kvTable(Object.entries(value), depth + 1));
    } else if (value && typeof value === "object" && !Array.isArray(value)) {
      cell.textContent = `{${Object.keys(value).length} fields}`;
    } else {
      cell.textContent = formatCell(value);
    }
  }
  return table;
}

function showJobResult(job) {
  const out = $("job-result");
  const result = job.result || {};
  const shown = Object.entries(result).filter(([k, v]) => k !== "provenance" && !Array.isArray(v)
    && !(v && typeof v === "object" && Object.keys(v).length > 12));
  out.replaceChildren(kvTable(shown));
  out.dataset.jobId = job.id;
  if (job.kind === "bubble-psy") return drawPsy(result, "job-chart");
  return null;
}

function toggleJobFields() {
  const kind = $("job-kind").value;
  $("job-fields-stress").classList.toggle("hidden", kind !== "stress");
  $("job-fields-psy").classList.toggle("hidden", kind !== "bubble-psy");
}

function jobBody(kind) {
  const seed = Number($("job-seed").value);
  if (kind === "stress") {
    return { path: "/api/jobs/stress", body: { scenario: $("job-scenario").value,
      paths: Number($("job-paths").value), seed } };
  }
  return { path: "/api/jobs/bubble/psy", body: { symbol: $("job-symbol").value,
    freq: $("job-freq").value, reps: Number($("job-reps").value), seed, cv: "mc" } };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function submitJob(event) {
  event.preventDefault();
  const kind = $("job-kind").value;
  const { path, body } = jobBody(kind);
  $("job-submit").disabled = true;
  $("job-result").replaceChildren();
  setText("job-status", "submitting…");
  try {
    const accepted = await api(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${$("job-token").value}` },
      body: JSON.stringify(body),
    });
    let job = null;
    for (;;) {
      job = await api(accepted.location);
      const p = job.progress || {};
      setText("job-status", `job ${job.id.slice(0, 8)}: ${job.status}` +
        (p.total ? ` (${p.done}/${p.total} ${p.label || ""})` : ""));
      if (!["queued", "running"].includes(job.status)) break;
      await sleep(500);
    }
    if (job.status === "finished") {
      await showJobResult(job);
      setText("job-status", `job ${job.id.slice(0, 8)} finished`);
    } else {
      setText("job-status", `job ${job.id.slice(0, 8)} ${job.status}: ${job.error || ""}`, true);
    }
  } catch (err) {
    setText("job-status", err.message, true);
  } finally {
    $("job-submit").disabled = false;
  }
}

/* ------------------------------------------------------------------------------ set-up */
async function init() {
  $("corr-form").addEventListener("submit", plotCorrelation);
  $("psy-form").addEventListener("submit", plotPsy);
  $("liq-form").addEventListener("submit", plotLiquidity);
  $("job-form").addEventListener("submit", submitJob);
  $("job-kind").addEventListener("change", toggleJobFields);
  try {
    const [health, listing, jobs] = await Promise.all([
      api("/api/health"), api("/api/series"), api("/api/jobs"),
    ]);
    setText("health", `${health.series} series · ${health.read_only ? "read-only" : "writable"}`);
    const prices = listing.series.filter((s) => s.kind === "price").map((s) => s.symbol);
    fillSelect("corr-a", prices, ["BTC-USD"]);
    fillSelect("corr-b", prices, ["NVDA", "^IXIC"]);
    fillSelect("psy-symbol", prices, ["NVDA", "BTC-USD"]);
    fillSelect("job-symbol", prices, ["NVDA", "BTC-USD"]);
    $("job-kind").replaceChildren(...jobs.kinds.map((k) => new Option(k.title, k.kind)));
    $("job-scenario").replaceChildren(...(jobs.scenarios || []).map((s) => new Option(s, s)));
    toggleJobFields();
    document.body.dataset.ready = "1";
  } catch (err) {
    setText("health", err.message, true);
  }
}

document.addEventListener("DOMContentLoaded", init);
