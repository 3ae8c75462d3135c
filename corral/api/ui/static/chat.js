// The chat pane: streams /api/chat into the log, renders answers as safe Markdown, stops a stream
// with an AbortController, and reports each answer's time to first token and decode speed.

import { ndjson, request } from "./api.js";
import { el, millis, rate } from "./format.js";
import { renderMarkdown } from "./markdown.js";

const history = [];
let conversation = 0; // bumped by "New chat" so a stream stopped by it does not write into the new one
let controller = null;
let report = () => {};
let afterAnswer = () => {};

function byId(id) {
  return document.getElementById(id);
}

/** Offer the models that can chat (not embedding-only ones), keeping the current choice. */
export function setChatModels(models) {
  const select = byId("chat-model");
  const chosen = select.value;
  const usable = models.filter((m) => !m.capabilities.length || m.capabilities.includes("completion"));
  select.replaceChildren(...usable.map((m) => new Option(m.name, m.name)));
  if (usable.some((m) => m.name === chosen)) select.value = chosen;
  byId("chat-send").disabled = controller !== null || usable.length === 0;
}

function bubble(role) {
  const box = el("div", null, `message ${role}`);
  box.append(el("div", role === "user" ? "you" : byId("chat-model").value, "who"));
  const body = el("div", null, "body");
  box.append(body);
  byId("chat-log").append(box);
  return { box, body };
}

/** Re-render at most every 50 ms: Markdown of the whole answer so far. */
function renderer(target) {
  let text = "";
  let timer = null;
  const paint = () => {
    timer = null;
    target.replaceChildren(renderMarkdown(text));
    const log = byId("chat-log");
    log.scrollTop = log.scrollHeight;
  };
  return {
    set(value) {
      text = value;
      if (timer === null) timer = setTimeout(paint, 50);
    },
    flush() {
      if (timer !== null) clearTimeout(timer);
      paint();
    },
  };
}

function stats(parts, className = "stats") {
  return el("div", parts.filter(Boolean).join(" · "), className);
}

async function send(text) {
  const model = byId("chat-model").value;
  const system = byId("chat-system").value.trim();
  const messages = [...(system ? [{ role: "system", content: system }] : []), ...history];
  messages.push({ role: "user", content: text });
  bubble("user").body.replaceChildren(renderMarkdown(text));
  const { box, body } = bubble("assistant");
  box.classList.add("streaming");
  const thinkingBox = el("details", null, "thinking");
  thinkingBox.append(el("summary", "thinking"));
  const thinkingText = el("div");
  thinkingBox.append(thinkingText);
  const answer = renderer(body);

  controller = new AbortController();
  byId("chat-stop").disabled = false;
  byId("chat-send").disabled = true;
  const started = performance.now();
  const ours = conversation;
  let first = null;
  let content = "";
  let thinking = "";
  let chunks = 0;
  let final = null;
  let outcome = "";
  try {
    const response = await request("/api/chat", {
      method: "POST",
      body: { model, messages, stream: true },
      signal: controller.signal,
    });
    for await (const chunk of ndjson(response)) {
      const piece = chunk.message?.content ?? "";
      const thought = chunk.message?.thinking ?? "";
      if ((piece || thought) && first === null) first = performance.now();
      if (piece || thought) chunks += 1;
      if (thought) {
        if (!thinking) box.insertBefore(thinkingBox, body);
        thinking += thought;
        thinkingText.textContent = thinking;
      }
      content += piece;
      answer.set(content);
      if (chunk.done) final = chunk;
    }
  } catch (error) {
    if (error.name === "AbortError") {
      outcome = "stopped";
    } else {
      outcome = "failed";
      box.append(el("div", error.message, "error"));
      report(`Chat: ${error.message}`, true);
    }
  } finally {
    controller = null;
    answer.flush();
    box.classList.remove("streaming");
    box.classList.toggle("stopped", outcome === "stopped");
    byId("chat-stop").disabled = true;
    byId("chat-send").disabled = byId("chat-model").options.length === 0;
  }
  if (ours !== conversation) return;
  history.push({ role: "user", content: text }, { role: "assistant", content });
  const ttft = first === null ? null : first - started;
  let speed = null;
  if (final && final.eval_count && final.eval_duration) {
    speed = final.eval_count / (final.eval_duration / 1e9);
  } else if (first !== null && chunks > 1) {
    speed = (chunks - 1) / ((performance.now() - first) / 1000); // no final stats when stopped
  }
  const tokens = final?.eval_count ? `${final.eval_count} tokens` : `${chunks} chunks`;
  box.append(
    stats([outcome, `TTFT ${millis(ttft)}`, `${final ? "" : "≈"}${rate(speed)}`, tokens, final?.done_reason]),
  );
  afterAnswer();
}

/** Wire the pane: `notify(text, isError)` reports; `onAnswer()` runs after each answer. */
export function setupChat({ notify, onAnswer }) {
  report = notify;
  afterAnswer = onAnswer;
  const input = byId("chat-input");
  const form = byId("chat-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || controller !== null || !byId("chat-model").value) return;
    input.value = "";
    send(text);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  byId("chat-stop").addEventListener("click", () => controller?.abort());
  byId("chat-clear").addEventListener("click", () => {
    conversation += 1;
    controller?.abort();
    history.length = 0;
    byId("chat-log").replaceChildren();
  });
}
