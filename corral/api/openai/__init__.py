"""The OpenAI-compatible API (``/v1/*``): an adapter over the same core as the Ollama API.

Modules: ``protocol`` (request wire types), ``messages`` and ``from_openai`` (requests → core
inputs), ``to_openai`` (core chunks → response objects), ``serving`` (chat and text completion
handlers, SSE), ``models`` (model list/retrieve), ``embeddings`` (``/v1/embeddings``).

Supported beyond what Ollama's compatibility layer does:

* ``tool_choice``: ``none`` (tools are not offered), ``auto``, ``required`` and a named function.
  The last two constrain the output with a JSON schema admitting exactly one call
  ``{"name": <enum of the allowed tools>, "arguments": <the tool's parameters schema>}`` (through
  the core's ``format``), and the adapter turns that JSON into ``tool_calls`` (one call; the
  model still needs the ``tools`` capability, as in Ollama). Streaming sends the call in one delta.
* ``n`` > 1 (up to 128): each choice is its own generation, run one after the other; with a
  ``seed``, choice ``i`` samples with ``seed + i``. ``/v1/completions`` also takes a list of
  prompts (choices ordered prompt by prompt).
* ``logprobs`` / ``top_logprobs`` (0..20) in OpenAI's shape; ``/v1/completions`` ``logprobs: int``
  in the legacy shape (tokens, token_logprobs, top_logprobs, text_offset).
* ``max_completion_tokens`` (wins over ``max_tokens``), ``echo`` on completions.
* ``logit_bias`` on chat and text completions (llama.cpp's logit-bias sampler, or the same addition
  in numpy on the other backends); ids outside the vocabulary or values outside [-100, 100] → 400.

Deliberate gaps: ``best_of`` > ``n`` is not supported; ``echo`` with
``logprobs`` is refused (prompt logprobs are not computed); token-array prompts are refused;
``parallel_tool_calls`` is ignored (a forced call is always exactly one); ``strict`` is implied
(the grammar always enforces the schema); ``user`` is ignored. An error after a stream began is
sent as an SSE ``data: {"error": {...}}`` frame (the SDKs raise it) rather than Ollama's empty chunk.
``/v1/responses`` is :mod:`corral.api.responses` and ``/v1/messages`` (Anthropic) is
:mod:`corral.api.anthropic`, adapters of the same shape; ``/v1/audio/transcriptions`` is not served.
"""
