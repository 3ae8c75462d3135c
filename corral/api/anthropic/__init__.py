"""The Anthropic Messages API (``/v1/messages``, ``/v1/messages/count_tokens``) over the core's chat.

Modules: ``protocol`` (wire types), ``from_anthropic`` (request → core chat), ``to_anthropic``
(chunks → message object and SSE events), ``stops`` (stop sequences), ``routes`` (handlers).

Supported: ``system`` (string or text blocks), content blocks ``text``, ``image`` (base64),
``tool_use``, ``tool_result`` (string or text/image blocks; ``is_error`` prefixes ``Error: ``),
``thinking`` (sent back as the assistant's thinking); ``tools`` with ``input_schema``;
``tool_choice`` ``auto``, ``none``, ``any`` and ``tool`` (the last two force exactly one call with a
JSON schema, as the OpenAI adapter does for ``required``); ``thinking`` ``enabled``/``adaptive``/
``disabled`` (dropped for a model that cannot think, as Ollama does); ``stop_sequences`` with
``stop_reason: "stop_sequence"`` naming the match; ``output_config.format`` (a JSON schema the
output is constrained to); ``temperature``, ``top_p``, ``top_k``;
streaming with ``message_start``, ``content_block_start``/``delta``/``stop``, ``message_delta``,
``message_stop`` and, after the stream began, an ``error`` event. Errors use Anthropic's
``{"type": "error", "error": {"type", "message"}}``. ``x-api-key`` is accepted like
``Authorization: Bearer``.

Deliberate gaps: ``budget_tokens`` is not enforced (thinking counts against ``max_tokens``);
thinking blocks carry an empty ``signature``; image URLs, documents and server tools
(web search, code execution...) are refused with 400; ``metadata``, ``service_tier`` and
``output_config.effort`` are ignored. Streamed ``message_start`` carries zero usage: the final
counts come in ``message_delta``.
"""
