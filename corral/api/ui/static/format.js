// Numbers for people: sizes, durations, rates, countdowns.

export function bytes(n) {
  if (!Number.isFinite(n) || n <= 0) return "0 B";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i += 1;
  }
  return `${n >= 100 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

export function millis(ms) {
  if (ms === null || !Number.isFinite(ms)) return "–";
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

export function rate(perSecond) {
  if (perSecond === null || !Number.isFinite(perSecond)) return "–";
  return perSecond >= 100 ? `${Math.round(perSecond)} tok/s` : `${perSecond.toFixed(1)} tok/s`;
}

/** "4:05", "1:02:03", or "forever" for Ollama's far-future expiry of keep_alive -1. */
export function countdown(expiresAtMs, nowMs) {
  if (!Number.isFinite(expiresAtMs)) return "–";
  const left = Math.max(0, Math.round((expiresAtMs - nowMs) / 1000));
  if (left > 100 * 365 * 86400) return "forever";
  const h = Math.floor(left / 3600);
  const m = Math.floor((left % 3600) / 60);
  const s = String(left % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** Milliseconds since the epoch of an RFC 3339 time with up to nanosecond digits (Go's format). */
export function parseTime(text) {
  // Date.parse wants at most millisecond digits.
  return Date.parse(String(text).replace(/(\.\d{3})\d+/, "$1"));
}

/** An element with text content (never markup). */
export function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}
