// Live numbers from /metrics (Prometheus text format): generated tokens per second, queue depth and
// mean time to first token, each derived from the difference between two scrapes.

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** name → list of {labels, value}, for every sample line of a Prometheus text exposition. */
export function parsePrometheus(text) {
  const out = new Map();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[2] ?? "").matchAll(LABEL)) {
      labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
    }
    const value = Number(m[3]);
    if (!out.has(m[1])) out.set(m[1], []);
    out.get(m[1]).push({ labels, value });
  }
  return out;
}

function total(samples, name) {
  return (samples.get(name) ?? []).reduce((sum, s) => sum + (Number.isFinite(s.value) ? s.value : 0), 0);
}

/** The totals one scrape gives (counters are summed over every model). */
export function snapshot(samples, at) {
  const perModel = new Map();
  const count = (name, key) => {
    for (const s of samples.get(name) ?? []) {
      const model = s.labels.model ?? "";
      const entry = perModel.get(model) ?? { running: 0, waiting: 0 };
      entry[key] += s.value;
      perModel.set(model, entry);
    }
  };
  count("corral_requests_running", "running");
  count("corral_requests_waiting", "waiting");
  return {
    at,
    generated: total(samples, "corral_generated_tokens_total"),
    ttftSum: total(samples, "corral_time_to_first_token_seconds_sum"),
    ttftCount: total(samples, "corral_time_to_first_token_seconds_count"),
    waiting: total(samples, "corral_requests_waiting"),
    perModel,
  };
}

/** One chart point per scrape: tokens/s and mean TTFT (ms) since the previous scrape, queue now. */
export function derive(previous, now) {
  const seconds = (now.at - previous.at) / 1000;
  const firsts = now.ttftCount - previous.ttftCount;
  return {
    tokensPerSecond: seconds > 0 ? Math.max(0, now.generated - previous.generated) / seconds : 0,
    queue: now.waiting,
    ttftMs: firsts > 0 ? (1000 * (now.ttftSum - previous.ttftSum)) / firsts : null,
  };
}

/** Keeps the last `size` points of each series. */
export class Series {
  constructor(size) {
    this.size = size;
    this.tokensPerSecond = [];
    this.queue = [];
    this.ttftMs = [];
  }

  push(point) {
    for (const key of ["tokensPerSecond", "queue", "ttftMs"]) {
      this[key].push(point[key]);
      if (this[key].length > this.size) this[key].shift();
    }
  }
}
