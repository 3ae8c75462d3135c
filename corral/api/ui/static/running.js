// The running pane: loaded models from /api/ps with a live keep-alive countdown, slots in use and
// requests waiting (corral's `slots` in /api/ps; from /metrics for a server without it), and
// unloading (Ollama's way: an empty generate with keep_alive 0).

import { json, request } from "./api.js";
import { bytes, countdown, el, parseTime } from "./format.js";

let loaded = [];
let perModel = new Map();
let report = () => {};

/** Read /api/ps and redraw. */
export async function refreshRunning() {
  const ps = await json("/api/ps");
  loaded = ps.models ?? [];
  draw();
  return loaded;
}

/** Requests running and waiting per model label, from the latest /metrics sample. */
export function setRequestCounts(counts) {
  perModel = counts;
  for (const row of document.querySelectorAll("#running-body tr")) {
    const cell = row.querySelector("[data-cell=requests]");
    if (cell) cell.textContent = requestsText(row.dataset.model);
  }
  tick();
}

function usage(name) {
  const slots = loaded.find((m) => m.name === name)?.slots;
  if (slots) return { running: slots.in_use, waiting: slots.waiting, total: slots.total };
  const counts = perModel.get(name);
  return { running: counts?.running ?? 0, waiting: counts?.waiting ?? 0, total: null };
}

function requestsText(name) {
  const { running, waiting, total } = usage(name);
  const held = total === null ? `${running} running` : `${running} of ${total} slots in use`;
  return waiting ? `${held}, ${waiting} waiting` : held;
}

// keep_alive counts from the end of the last request, so a model serving one shows "in use".
function tick() {
  const now = Date.now();
  for (const cell of document.querySelectorAll("#running-body [data-expires]")) {
    const busy = usage(cell.closest("tr").dataset.model).running > 0;
    cell.textContent = busy ? "in use" : countdown(Number(cell.dataset.expires), now);
  }
}

function buildRow(model) {
  const row = el("tr");
  row.dataset.model = model.name;
  const backend = el("td");
  if (model.backend) {
    backend.append(el("span", model.backend.name, "tag"));
    backend.title = model.backend.reason ?? "";
  }
  const expires = el("td");
  if (model.loading) {
    expires.textContent = `loading ${Math.round(100 * (model.loading.progress ?? 0))}%`;
  } else {
    expires.dataset.expires = String(parseTime(model.expires_at));
    expires.className = "countdown";
  }
  const requests = el("td", requestsText(model.name));
  requests.dataset.cell = "requests";
  const unload = el("button", "Unload", "small-button");
  unload.type = "button";
  unload.dataset.action = "unload";
  unload.disabled = Boolean(model.loading);
  unload.addEventListener("click", () => unloadModel(model.name, unload));
  const actions = el("td");
  actions.append(unload);
  row.append(
    el("td", model.name, "name"),
    el("td", bytes(model.size)),
    backend,
    el("td", model.context_length ? String(model.context_length) : "–"),
    requests,
    expires,
    actions,
  );
  return row;
}

// Rows whose model did not change are kept as they are, so a click is never lost to a redraw.
function draw() {
  const body = document.getElementById("running-body");
  const old = new Map([...body.children].map((row) => [row.dataset.model, row]));
  const rows = loaded.map((model) => {
    const signature = JSON.stringify([model.size, model.backend, model.context_length, model.expires_at, model.loading]);
    const kept = old.get(model.name);
    if (kept && kept.dataset.signature === signature) return kept;
    const fresh = buildRow(model);
    fresh.dataset.signature = signature;
    return fresh;
  });
  body.replaceChildren(...rows);
  document.getElementById("running-empty").hidden = loaded.length > 0;
  setRequestCounts(perModel);
}

async function unloadModel(name, button) {
  button.disabled = true;
  try {
    await request("/api/generate", { method: "POST", body: { model: name, keep_alive: 0, stream: false } });
    report(`Unloaded ${name}`);
  } catch (error) {
    report(`Unload ${name}: ${error.message}`, true);
  }
  await refreshRunning().catch((error) => report(error.message, true));
}

/** Wire the pane: `notify(text, isError)` reports; the countdown ticks every second. */
export function setupRunning({ notify }) {
  report = notify;
  setInterval(tick, 1000);
}
