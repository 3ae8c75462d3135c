// Drives the `ollama` npm client against a server and prints what each call returned, as one JSON
// object on stdout; tests/clients/test_client_ollama_js.py asserts on it.
//
//   node exercise.mjs '{"host": "http://127.0.0.1:PORT", "tiny": "tiny", "pull": "gemma3:270m"}'
//
// The server must already hold the model named by `tiny` (the npm client cannot upload blobs).
// Optional keys: "embed" (a model for /api/embed and /api/embeddings), "push" (a name to push).
import { Ollama } from "ollama";

const cfg = JSON.parse(process.argv[2]);
const client = new Ollama({ host: cfg.host });
const OPTS = { temperature: 0, top_k: 1, num_predict: 4 };
const out = {};

async function failure(promise) {
  try {
    await promise;
    return null;
  } catch (err) {
    return { name: err.name, status_code: err.status_code ?? null, error: err.error ?? String(err) };
  }
}

async function collect(iterator) {
  const parts = [];
  for await (const part of iterator) parts.push(part);
  return parts;
}

out.version = await client.version();
out.list = (await client.list()).models.map((m) => ({ name: m.name, model: m.model, size: m.size }));

const shown = await client.show({ model: cfg.tiny });
out.show = { capabilities: shown.capabilities, family: shown.details.family, template: shown.template };
out.show_missing = await failure(client.show({ model: "no-such-model" }));

const created = await collect(
  await client.create({ model: "js-derived", from: cfg.tiny, system: "be terse", stream: true }),
);
out.create = created.map((p) => p.status);
out.create_system = (await client.show({ model: "js-derived" })).system ?? null;
out.copy = await client.copy({ source: "js-derived", destination: "js-copy" });
out.after_copy = (await client.list()).models.map((m) => m.model).sort();
out.delete = await client.delete({ model: "js-copy" });
out.delete_missing = await failure(client.delete({ model: "js-copy" }));
await client.delete({ model: "js-derived" });

const whole = await client.generate({ model: cfg.tiny, prompt: "hello", options: OPTS });
const streamed = await collect(
  await client.generate({ model: cfg.tiny, prompt: "hello", options: OPTS, stream: true }),
);
out.generate = {
  response: whole.response,
  done: whole.done,
  done_reason: whole.done_reason,
  eval_count: whole.eval_count,
  has_context: Array.isArray(whole.context) && whole.context.length > 0,
};
out.generate_stream = {
  text: streamed.map((c) => c.response).join(""),
  chunks: streamed.length,
  done_flags: streamed.map((c) => c.done),
  last_done_reason: streamed.at(-1).done_reason,
};

const messages = [{ role: "user", content: "hi" }];
const chat = await client.chat({ model: cfg.tiny, messages, options: OPTS });
const chatParts = await collect(await client.chat({ model: cfg.tiny, messages, options: OPTS, stream: true }));
out.chat = { role: chat.message.role, content: chat.message.content, done: chat.done };
out.chat_stream = {
  text: chatParts.map((p) => p.message.content).join(""),
  roles: [...new Set(chatParts.map((p) => p.message.role))],
  done_flags: chatParts.map((p) => p.done),
};

const pulled = await collect(await client.pull({ model: cfg.pull, stream: true }));
out.pull = pulled.map((p) => p.status);
out.pull_again = (await client.pull({ model: cfg.pull })).status;
out.pull_missing = await failure(client.pull({ model: "no-such-model:1b" }));
const real = await client.chat({
  model: cfg.pull,
  messages: [{ role: "user", content: "Say hello." }],
  options: { ...OPTS, num_predict: 8 },
});
out.real_chat = { content: real.message.content, eval_count: real.eval_count, done_reason: real.done_reason };

out.ps = (await client.ps()).models.map((m) => ({ model: m.model, size: m.size, expires_at: m.expires_at }));

if (cfg.embed) {
  const embedded = await client.embed({ model: cfg.embed, input: ["hello", "world"] });
  out.embed = { model: embedded.model, count: embedded.embeddings.length, dims: embedded.embeddings[0].length };
  const legacy = await client.embeddings({ model: cfg.embed, prompt: "hello" });
  out.embeddings = { dims: legacy.embedding.length };
}
if (cfg.push) {
  out.push = (await collect(await client.push({ model: cfg.push, insecure: true, stream: true }))).map(
    (p) => p.status,
  );
}

process.stdout.write(JSON.stringify(out));
