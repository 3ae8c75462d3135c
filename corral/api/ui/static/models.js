// The models pane: local models with their details and backend, pulls with progress, deletes.

import { json, ndjson, request } from "./api.js";
import { bytes, el } from "./format.js";

const listeners = [];
let current = [];

/** Called with the model list (each: name, size, details, backend, capabilities) after every refresh. */
export function onModels(listener) {
  listeners.push(listener);
}

async function describe(model) {
  try {
    const show = await json("/api/show", { method: "POST", body: { model: model.name } });
    return { ...model, backend: show.backend ?? null, capabilities: show.capabilities ?? [] };
  } catch (error) {
    return { ...model, backend: null, capabilities: [], problem: error.message };
  }
}

/** `task` over every item, at most `limit` at a time (a large library must not flood the server). */
async function mapLimited(items, limit, task) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next;
      next += 1;
      out[i] = await task(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Read /api/tags (and /api/show of each model) and redraw the table. */
export async function refreshModels() {
  const tags = await json("/api/tags");
  current = await mapLimited(tags.models ?? [], 4, describe);
  draw();
  for (const listener of listeners) listener(current);
  return current;
}

function backendCell(backend, problem) {
  const cell = el("td");
  if (problem) {
    cell.append(el("span", problem, "error"));
  } else if (backend) {
    cell.append(el("span", backend.name, "tag"));
    if (backend.reason) cell.append(el("div", backend.reason, "muted small"));
  } else {
    cell.textContent = "–";
  }
  return cell;
}

let confirmDelete = async () => false;
let report = () => {};

function draw() {
  const body = document.getElementById("models-body");
  body.replaceChildren();
  for (const model of current) {
    const d = model.details ?? {};
    const row = el("tr");
    row.dataset.model = model.name;
    row.append(
      el("td", model.name, "name"),
      el("td", bytes(model.size)),
      el("td", d.family || "–"),
      el("td", d.parameter_size || "–"),
      el("td", d.quantization_level || "–"),
      backendCell(model.backend, model.problem),
    );
    const remove = el("button", "Delete", "danger small-button");
    remove.type = "button";
    remove.dataset.action = "delete";
    remove.addEventListener("click", () => deleteModel(model.name));
    const actions = el("td");
    actions.append(remove);
    row.append(actions);
    body.append(row);
  }
  document.getElementById("models-empty").hidden = current.length > 0;
}

async function deleteModel(name) {
  if (!(await confirmDelete(`Delete ${name}? Its files are removed unless another model shares them.`))) return;
  try {
    await request("/api/delete", { method: "DELETE", body: { model: name } });
    report(`Deleted ${name}`);
  } catch (error) {
    report(`Delete ${name}: ${error.message}`, true);
  }
  await refreshModels().catch((error) => report(error.message, true));
}

function showProgress(line) {
  const bar = document.getElementById("pull-progress");
  document.getElementById("pull-text").textContent = line.status;
  const numbers = document.getElementById("pull-numbers");
  if (line.total) {
    const done = line.completed ?? 0;
    bar.max = line.total;
    bar.value = done;
    numbers.textContent = `${bytes(done)} / ${bytes(line.total)} (${Math.floor((100 * done) / line.total)}%)`;
  } else if (line.status === "success") {
    bar.max = 1;
    bar.value = 1;
    numbers.textContent = "";
  } else {
    numbers.textContent = "";
  }
}

async function pull(name) {
  const box = document.getElementById("pull-status");
  const button = document.getElementById("pull-button");
  const bar = document.getElementById("pull-progress");
  box.hidden = false;
  box.classList.remove("failed");
  bar.max = 1;
  bar.value = 0;
  button.disabled = true;
  showProgress({ status: `pulling ${name}` });
  try {
    const response = await request("/api/pull", { method: "POST", body: { model: name, stream: true } });
    for await (const line of ndjson(response)) showProgress(line);
    report(`Pulled ${name}`);
  } catch (error) {
    box.classList.add("failed");
    document.getElementById("pull-text").textContent = `pull ${name}: ${error.message}`;
  } finally {
    button.disabled = false;
  }
  await refreshModels().catch((error) => report(error.message, true));
}

/** Wire the pane: `confirm(text)` resolves to true to delete, `notify(text, isError)` reports. */
export function setupModels({ confirm, notify }) {
  confirmDelete = confirm;
  report = notify;
  document.getElementById("pull-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("pull-name");
    const name = input.value.trim();
    if (name) pull(name);
  });
}
