"""OpenAI's Responses API (``/v1/responses``) over the core's chat, in the OpenAI adapter's shape.

Modules: ``protocol`` (wire types), ``from_responses`` (request → core chat), ``to_responses``
(chunks → output items, the response object and stream events), ``store`` (the bounded store
behind ``previous_response_id``), ``routes`` (create, retrieve, delete).

Supported: ``input`` as a string or items (messages with ``input_text``/``output_text``/
``input_image`` data URLs, ``function_call``, ``function_call_output``, ``reasoning``);
``instructions``; function ``tools`` with ``tool_choice`` ``auto``/``none``/``required``/a named
function (the last two force one call with a JSON schema); ``text.format`` ``text``,
``json_object`` and ``json_schema``; ``reasoning.effort`` (→ ``think``; thinking comes back as a
reasoning item's summary); ``temperature``, ``top_p``, ``max_output_tokens`` (a response cut by it
is ``incomplete`` and its stream ends with ``response.incomplete``); streaming with the documented
event sequence and ``sequence_number``; usage.

Beyond Ollama (which is stateless): ``previous_response_id``, ``GET`` and ``DELETE
/v1/responses/{id}`` over the last :data:`~corral.api.responses.store.CAPACITY` (256) stored
responses of the server process, in memory only (``store: false`` keeps nothing).

Deliberate gaps: built-in tools (web search, file search, computer use...), ``conversation``,
``background``, ``item_reference`` inputs, file inputs and ``truncation: auto`` are not
supported (400 or ignored for ``truncation``); output ``logprobs`` are always empty.
"""
