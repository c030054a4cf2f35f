// The emu dashboard: plain DOM, no build step, nothing fetched from outside the admin port.
"use strict";

const MAX_INVOCATIONS = 500; // kept in the page
const CHART_BARS = 60; // latest invocations drawn per function
const FUNCTIONS_REFRESH_MS = 2000; // instance counts change without an event

const state = { functions: [], invocations: [], seen: new Set(), open: new Set(), chartFunction: "" };
const $ = (id) => document.getElementById(id);

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}

const keyOf = (item) => `${item.provider}/${String(item.function ?? item.name).replace(/^\//, "")}`;
const ms = (value) => (value === null || value === undefined ? "" : `${value} ms`);
const clock = (epochMs) => new Date(epochMs).toLocaleTimeString([], { hour12: false });
const pretty = (value) => (typeof value === "string" ? value : JSON.stringify(value, null, 2) ?? "");

function percentile(values, p) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

// -- functions ------------------------------------------------------------------------------

async function loadFunctions() {
  try {
    const reply = await fetch("/_emu/functions");
    if (!reply.ok) return;
    state.functions = await reply.json();
    renderFunctions();
  } catch (error) {
    // The gateway is restarting or gone: the live badge says so; try again later.
  }
}

function renderFunctions() {
  const body = $("functions");
  const latencies = durationsByFunction();
  body.replaceChildren(
    ...state.functions.map((item) => {
      const p50 = percentile(latencies.get(keyOf(item)) ?? [], 50);
      return el(
        "tr",
        {
          class: item.invocable ? "selectable" : "",
          "data-function": keyOf(item),
          onclick: () => item.invocable && selectFunction(keyOf(item)),
        },
        el("td", {}, el("span", { class: "badge" }, item.provider)),
        el("td", {}, item.name),
        el("td", { class: "muted" }, item.runtime ?? ""),
        el("td", { class: "num", "data-testid": "instances" }, item.invocable ? item.instances : ""),
        el("td", { class: "num" }, p50 === null ? "" : ms(p50)),
        el("td", { class: "url" }, el("a", { href: item.url, target: "_blank", rel: "noopener" }, item.url)),
      );
    }),
  );
  $("summary").textContent = `${state.functions.length} functions · ${state.invocations.length} invocations`;
  renderFunctionChoices();
}

function renderFunctionChoices() {
  const invocable = state.functions.filter((item) => item.invocable).map(keyOf);
  fillSelect($("invoke-function"), invocable);
  const invoked = [...new Set(state.invocations.map(keyOf))];
  const choices = [...new Set([...invocable, ...invoked])];
  if (!state.chartFunction && invoked.length) state.chartFunction = keyOf(state.invocations[0]);
  fillSelect($("chart-function"), choices, state.chartFunction);
}

function fillSelect(select, values, wanted) {
  const current = wanted ?? select.value;
  const existing = [...select.options].map((option) => option.value);
  if (existing.join("\n") !== values.join("\n")) {
    select.replaceChildren(...values.map((value) => el("option", { value }, value)));
  }
  if (values.includes(current)) select.value = current;
}

function selectFunction(key) {
  $("invoke-function").value = key;
  state.chartFunction = key;
  $("chart-function").value = key;
  renderChart();
}

// -- invocations ----------------------------------------------------------------------------

function addInvocations(items, live) {
  let added = false;
  for (const item of items) {
    if (!item.id || state.seen.has(item.id)) continue;
    state.seen.add(item.id);
    state.invocations.push(item);
    added = true;
    if (live) state.chartFunction = state.chartFunction || keyOf(item);
  }
  if (!added) return;
  state.invocations.sort((a, b) => (b.start ?? 0) - (a.start ?? 0));
  for (const dropped of state.invocations.splice(MAX_INVOCATIONS)) state.seen.delete(dropped.id);
  renderInvocations();
  renderFunctions();
  renderChart();
  if (live) refreshFunctionsSoon(); // a call may have started or kept an instance
}

let refreshTimer = null;
function refreshFunctionsSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(loadFunctions, 100);
}

function renderInvocations() {
  const rows = [];
  for (const item of state.invocations) {
    const ok = item.status === "success";
    rows.push(
      el(
        "tr",
        { class: "selectable", "data-id": item.id, onclick: () => toggle(item.id) },
        el("td", { class: "muted" }, item.start ? clock(item.start) : ""),
        el("td", {}, el("span", { class: "badge" }, item.provider)),
        el("td", {}, item.function),
        el("td", { class: ok ? "ok" : "bad" }, item.status),
        el("td", { class: "num" }, ms(item.duration)),
        el("td", { class: item.cold ? "cold" : "muted" }, item.cold ? "cold" : "warm"),
        el("td", { class: "num muted" }, ms(item.waitTime)),
        el("td", { class: "num muted" }, ms(item.initTime)),
      ),
    );
    if (state.open.has(item.id)) rows.push(details(item));
  }
  $("invocations").replaceChildren(...rows);
  $("no-invocations").hidden = state.invocations.length > 0;
}

function details(item) {
  const block = (title, value) => el("div", {}, el("h3", {}, title), el("pre", {}, value));
  return el(
    "tr",
    { class: "details", "data-details": item.id },
    el(
      "td",
      { colspan: "8" },
      el(
        "div",
        { class: "detail-grid" },
        block("Payload", item.request === null || item.request === undefined ? "(not recorded)" : pretty(item.request)),
        block("Result", item.response === null || item.response === undefined ? "(none)" : pretty(item.response)),
        block("Logs", (item.logs ?? []).join("\n") || "(no output)"),
      ),
      el("p", { class: "muted" }, `id ${item.id}`),
    ),
  );
}

function toggle(id) {
  if (state.open.has(id)) state.open.delete(id);
  else state.open.add(id);
  renderInvocations();
}

function durationsByFunction() {
  const byFunction = new Map();
  for (const item of state.invocations) {
    if (typeof item.duration !== "number") continue;
    const key = keyOf(item);
    if (!byFunction.has(key)) byFunction.set(key, []);
    byFunction.get(key).push(item.duration);
  }
  return byFunction;
}

// -- latency chart: one SVG bar per invocation, oldest on the left ---------------------------

function renderChart() {
  const svg = $("chart");
  const ns = "http://www.w3.org/2000/svg";
  const shape = (tag, attributes, text) => {
    const node = document.createElementNS(ns, tag);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const calls = state.invocations
    .filter((item) => keyOf(item) === state.chartFunction && typeof item.duration === "number")
    .slice(0, CHART_BARS)
    .reverse();
  const [width, height, left, bottom] = [600, 160, 44, 14];
  const top = Math.max(1, ...calls.map((item) => item.duration));
  const nodes = [
    shape("line", { x1: left, y1: height - bottom, x2: width, y2: height - bottom }),
    shape("text", { x: 2, y: 10 }, `${top} ms`),
    shape("text", { x: 2, y: height - bottom }, "0"),
  ];
  if (!calls.length) nodes.push(shape("text", { x: left + 8, y: 80 }, "no invocations of this function yet"));
  const slot = (width - left) / CHART_BARS;
  calls.forEach((item, index) => {
    const barHeight = Math.max(1, (item.duration / top) * (height - bottom - 12));
    const kind = item.status !== "success" ? "failed" : item.cold ? "cold" : "warm";
    const bar = shape("rect", {
      class: `bar ${kind}`,
      x: left + index * slot + 1,
      y: height - bottom - barHeight,
      width: Math.max(1, slot - 2),
      height: barHeight,
    });
    bar.append(shape("title", {}, `${item.duration} ms, ${kind}, ${item.start ? clock(item.start) : ""}`));
    nodes.push(bar);
  });
  const durations = calls.map((item) => item.duration);
  if (durations.length) {
    const summary = `p50 ${percentile(durations, 50)} ms · p90 ${percentile(durations, 90)} ms · ${durations.length} calls`;
    nodes.push(shape("text", { x: left + 4, y: height - 2 }, summary));
  }
  svg.replaceChildren(...nodes);
}

// -- invoke form ----------------------------------------------------------------------------

async function invoke(event) {
  event.preventDefault();
  const status = $("invoke-status");
  const output = $("invoke-result");
  let payload;
  try {
    payload = JSON.parse($("invoke-payload").value || "{}");
  } catch (error) {
    status.textContent = `The payload is not JSON: ${error.message}`;
    return;
  }
  const name = $("invoke-function").value;
  $("invoke-button").disabled = true;
  status.textContent = `invoking ${name}…`;
  try {
    const reply = await fetch("/_emu/invoke", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name, payload }),
    });
    const body = await reply.json();
    if (!reply.ok) {
      status.textContent = `${reply.status}: ${body.error}`;
      output.hidden = true;
      return;
    }
    const ok = body.status === "success";
    status.textContent = `${body.status} in ${body.duration} ms (${body.cold ? "cold" : "warm"})`;
    output.textContent = pretty(body.response);
    output.className = ok ? "result" : "result failed";
    output.hidden = false;
    state.chartFunction = name;
    addInvocations([body], true); // the live stream brings it too; the id keeps it once
  } catch (error) {
    status.textContent = `emu did not answer: ${error.message}`;
  } finally {
    $("invoke-button").disabled = false;
  }
}

// -- live stream ----------------------------------------------------------------------------

function connect() {
  const live = $("live");
  const source = new EventSource("/_emu/events");
  source.addEventListener("open", () => {
    live.textContent = "live";
    live.className = "live on";
    loadHistory(); // what happened while we were away
  });
  source.addEventListener("invocation", (message) => addInvocations([JSON.parse(message.data)], true));
  source.addEventListener("error", () => {
    live.textContent = "disconnected";
    live.className = "live off";
  });
}

async function loadHistory() {
  try {
    const reply = await fetch("/_emu/invocations?limit=200");
    if (reply.ok) addInvocations(await reply.json(), false);
  } catch (error) {
    // Shown by the live badge.
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("invoke-form").addEventListener("submit", invoke);
  $("chart-function").addEventListener("change", (event) => {
    state.chartFunction = event.target.value;
    renderChart();
  });
  $("clear").addEventListener("click", () => {
    state.invocations = [];
    state.seen.clear();
    renderInvocations();
    renderFunctions();
    renderChart();
  });
  renderInvocations();
  renderChart();
  loadFunctions();
  setInterval(loadFunctions, FUNCTIONS_REFRESH_MS);
  connect();
});
