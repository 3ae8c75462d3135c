"""schemathesis hooks loaded by conformance.fuzz: read NDJSON streams so their schema is checked."""

from __future__ import annotations

import json
from typing import Any

import schemathesis


@schemathesis.deserializer("application/x-ndjson")
def _ndjson(ctx: schemathesis.DeserializationContext, response: schemathesis.Response) -> Any:
    # Ollama's document gives the schema of one stream event; the final event carries the most
    # fields (done, metrics), so it is the one validated. Every line must still be JSON.
    events = [json.loads(line) for line in response.content.splitlines() if line.strip()]
    if not events:
        raise ValueError("empty NDJSON stream")
    return events[-1]
