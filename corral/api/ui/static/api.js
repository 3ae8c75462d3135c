// Every request the page makes: same origin only, the API key as a Bearer token, NDJSON streams.

// The key lives in this module's memory: never in localStorage, sessionStorage or a cookie, so it
// is gone when the tab closes and no other page of this origin can read it.
let apiKey = "";
let askForKey = null;
const keyListeners = [];

/** An HTTP error from the server, with the message of its error body (Ollama or OpenAI shape). */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/** `ask(message)` resolves to a key, or to null when the user declines; called on a 401. */
export function setKeyPrompt(ask) {
  askForKey = ask;
}

export function setKey(key) {
  apiKey = key;
  for (const listener of keyListeners) listener(apiKey !== "");
}

export function onKeyChange(listener) {
  keyListeners.push(listener);
}

async function errorMessage(response) {
  const text = await response.text().catch(() => "");
  try {
    const body = JSON.parse(text);
    if (typeof body.error === "string") return body.error;
    if (body.error && typeof body.error.message === "string") return body.error.message;
  } catch {
    // not JSON: use the text itself
  }
  return text.trim() || `${response.status} ${response.statusText}`;
}

/**
 * fetch() against this origin with the key attached. Answers a 401 by asking for a key and trying
 * again; any other non-2xx status becomes an ApiError. `body` is sent as JSON.
 */
export async function request(path, { method = "GET", body, signal } = {}) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  for (;;) {
    const headers = { Accept: "application/json, application/x-ndjson, text/plain" };
    if (payload !== undefined) headers["Content-Type"] = "application/json";
    if (apiKey) headers.Authorization = `Bearer ${apiKey}`;
    const response = await fetch(path, {
      method,
      headers,
      body: payload,
      signal,
      mode: "same-origin",
      credentials: "omit",
      cache: "no-store",
      redirect: "error",
    });
    if (response.status === 401 && askForKey) {
      const message = await errorMessage(response);
      const key = await askForKey(message);
      if (key) {
        setKey(key);
        continue;
      }
      throw new ApiError(401, message);
    }
    if (!response.ok) throw new ApiError(response.status, await errorMessage(response));
    return response;
  }
}

/** GET or POST returning the parsed JSON body. */
export async function json(path, options) {
  const response = await request(path, options);
  return response.json();
}

/** The objects of an NDJSON response as they arrive; an `{"error": ...}` line throws. */
export async function* ndjson(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const parse = (line) => {
    const value = JSON.parse(line);
    if (value && typeof value.error === "string") throw new ApiError(response.status, value.error);
    return value;
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, end).trim();
        buffer = buffer.slice(end + 1);
        if (line) yield parse(line);
      }
    }
    buffer += decoder.decode();
    if (buffer.trim()) yield parse(buffer.trim());
  } finally {
    reader.releaseLock();
  }
}
