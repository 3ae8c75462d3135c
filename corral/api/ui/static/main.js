// Starts the page: dialogs (API key, confirmation), notices, and the polling that keeps each pane live.

import { json, onKeyChange, request, setKey, setKeyPrompt } from "./api.js";
import { setChatModels, setupChat } from "./chat.js";
import { drawLine } from "./charts.js";
import { millis } from "./format.js";
import { Series, derive, parsePrometheus, snapshot } from "./metrics.js";
import { onModels, refreshModels, setupModels } from "./models.js";
import { refreshRunning, setRequestCounts, setupRunning } from "./running.js";

const POLL_MS = 2000;
const POINTS = 60;

function byId(id) {
  return document.getElementById(id);
}

let toastTimer = null;
function notify(text, isError = false) {
  const toast = byId("toast");
  toast.textContent = text;
  toast.classList.toggle("error", isError);
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    toast.hidden = true;
  }, 5000);
}

/** A modal <dialog> whose form resolves `onOk()`'s value, or null on Cancel/Escape. */
function modal(dialog, form, cancel, onOk) {
  return new Promise((resolve) => {
    const done = (value) => {
      form.removeEventListener("submit", ok);
      cancel.removeEventListener("click", no);
      dialog.removeEventListener("cancel", no);
      if (dialog.open) dialog.close();
      resolve(value);
    };
    const ok = (event) => {
      event.preventDefault();
      done(onOk());
    };
    const no = (event) => {
      event.preventDefault();
      done(null);
    };
    form.addEventListener("submit", ok);
    cancel.addEventListener("click", no);
    dialog.addEventListener("cancel", no);
    dialog.showModal();
  });
}

// Concurrent requests that meet a 401 share one prompt; after Cancel the page stops asking until the
// user opens the key dialog again, so polling does not pop it up every two seconds.
let keyPrompt = null;
let declined = false;

/** The open key prompt: resolves to the typed key ("" when left empty) or null on Cancel. */
function promptKey(message) {
  if (!keyPrompt) {
    byId("key-message").textContent = message;
    byId("key-input").value = "";
    keyPrompt = modal(byId("key-dialog"), byId("key-form"), byId("key-cancel"), () =>
      byId("key-input").value.trim(),
    ).finally(() => {
      keyPrompt = null;
    });
  }
  return keyPrompt;
}

async function keyAfter401(message) {
  if (declined) return null;
  const key = await promptKey(message || "This server wants an API key.");
  declined = !key;
  return key || null;
}

async function keyFromButton() {
  const key = await promptKey("API key for this server (leave empty to forget the current one).");
  if (key === null) return;
  declined = false;
  setKey(key);
  refreshAll();
}

function confirmText(text) {
  byId("confirm-text").textContent = text;
  return modal(byId("confirm-dialog"), byId("confirm-form"), byId("confirm-cancel"), () => true).then(Boolean);
}

const series = new Series(POINTS);
let previous = null;

async function scrapeMetrics() {
  const response = await request("/metrics");
  const now = snapshot(parsePrometheus(await response.text()), performance.now());
  setRequestCounts(now.perModel);
  if (previous) series.push(derive(previous, now));
  previous = now;
  drawCharts();
}

function drawCharts() {
  const last = (values) => (values.length ? values[values.length - 1] : null);
  drawLine(byId("chart-tps"), series.tokensPerSecond, { slots: POINTS, label: (v) => `${v} tok/s` });
  drawLine(byId("chart-queue"), series.queue, { slots: POINTS, label: (v) => `${v} waiting` });
  drawLine(byId("chart-ttft"), series.ttftMs, { slots: POINTS, label: millis });
  const tps = last(series.tokensPerSecond);
  const queue = last(series.queue);
  byId("now-tps").textContent = tps === null ? "" : tps.toFixed(1);
  byId("now-queue").textContent = queue === null ? "" : String(queue);
  const ttft = series.ttftMs.filter((v) => v !== null);
  byId("now-ttft").textContent = ttft.length ? millis(ttft[ttft.length - 1]) : "";
}

function quietly(task) {
  return task().catch((error) => {
    if (error.status !== 401) notify(error.message, true);
  });
}

function refreshAll() {
  quietly(refreshModels);
  quietly(refreshRunning);
  quietly(scrapeMetrics);
}

function poll() {
  if (!document.hidden) {
    quietly(refreshRunning);
    quietly(scrapeMetrics);
  }
}

function start() {
  setKeyPrompt(keyAfter401);
  onKeyChange((present) => {
    byId("key-state").textContent = present ? "key set (this tab only)" : "";
  });
  byId("key-button").addEventListener("click", keyFromButton);
  setupModels({ confirm: confirmText, notify });
  setupRunning({ notify });
  setupChat({ notify, onAnswer: () => quietly(refreshRunning) });
  onModels(setChatModels);
  quietly(async () => {
    byId("version").textContent = `v${(await json("/api/version")).version}`;
  });
  refreshAll();
  setInterval(poll, POLL_MS);
  window.addEventListener("resize", drawCharts);
}

start();
