"""The official ``openai`` SDK's Responses API (``client.responses``) against a live corral.

Greedy sampling (temperature 0) makes streamed and whole answers comparable; the tool and
structured-output tests constrain the tiny random model (a named ``tool_choice`` forces one call,
``text.format`` a JSON schema), so what is tested is the wire path through the SDK's own parsing.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import openai
import pytest
from pydantic import BaseModel

from tests.conftest import LiveServer

pytestmark = pytest.mark.integration

WEATHER: Any = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string", "enum": ["Paris", "Rome"]}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}


class Verdict(BaseModel):
    """The structured answer the parse test asks for."""

    ok: bool
    size: Literal["S", "M", "L"]


@pytest.fixture(scope="module")
def client(tiny_server: LiveServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=tiny_server.base_url + "/v1", api_key="unused", max_retries=0)


def test_create_whole_and_streamed(client: openai.OpenAI) -> None:
    whole = client.responses.create(model="tiny", input="hi", max_output_tokens=5, temperature=0)
    assert whole.id.startswith("resp_") and whole.object == "response" and whole.model == "tiny"
    assert whole.status == "incomplete" and whole.incomplete_details
    assert whole.incomplete_details.reason == "max_output_tokens"
    assert whole.usage and whole.usage.output_tokens == 5 and whole.usage.input_tokens > 0
    assert [item.type for item in whole.output] == ["message"] and whole.output_text
    events = list(
        client.responses.create(model="tiny", input="hi", max_output_tokens=5, temperature=0, stream=True)
    )
    kinds = [e.type for e in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.incomplete",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == whole.output_text
    final = events[-1].response  # type: ignore[union-attr]
    assert final.output_text == whole.output_text and final.usage == whole.usage


def test_stream_helper_and_instructions(client: openai.OpenAI) -> None:
    plain = client.responses.create(model="tiny", input="hi", max_output_tokens=2, temperature=0)
    with client.responses.stream(
        model="tiny",
        input=[{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
        instructions="Answer in French.",
        max_output_tokens=2,
        temperature=0,
    ) as stream:
        # Cut by max_output_tokens, the response ends with response.incomplete, which the helper's
        # get_final_response() does not accept (as with OpenAI): read the last event instead.
        last = list(stream)[-1]
    assert last.type == "response.incomplete"
    final = last.response
    assert final.instructions == "Answer in French."
    assert final.usage and plain.usage and final.usage.input_tokens > plain.usage.input_tokens


def test_tool_round_trip_with_previous_response_id(client: openai.OpenAI) -> None:
    first = client.responses.create(
        model="tiny-tools",
        input="weather in Rome?",
        tools=[WEATHER],
        tool_choice={"type": "function", "name": "get_weather"},
        max_output_tokens=120,
        temperature=0,
    )
    assert first.status == "completed"
    [call] = [item for item in first.output if item.type == "function_call"]
    assert (
        call.name == "get_weather"
        and call.call_id
        and json.loads(call.arguments)["city"] in ("Paris", "Rome")
    )
    second = client.responses.create(
        model="tiny-tools",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
        tools=[WEATHER],
        max_output_tokens=3,
        temperature=0,
    )
    assert second.previous_response_id == first.id and second.output_text
    # The stored turns were rendered: the same items sent without them make a shorter prompt.
    alone = client.responses.create(
        model="tiny-tools",
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
        tools=[WEATHER],
        max_output_tokens=3,
        temperature=0,
    )
    assert second.usage and alone.usage and second.usage.input_tokens > alone.usage.input_tokens
    # ...and the explicit history gives the same prompt as previous_response_id did.
    explicit = client.responses.create(
        model="tiny-tools",
        input=[
            {"role": "user", "content": "weather in Rome?"},
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
            },
            {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
        ],
        tools=[WEATHER],
        max_output_tokens=3,
        temperature=0,
        store=False,
    )
    assert explicit.usage and explicit.usage.input_tokens == second.usage.input_tokens
    assert explicit.output_text == second.output_text
    assert client.responses.retrieve(first.id).output == first.output
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(explicit.id)  # store=False keeps nothing
    with pytest.raises(openai.NotFoundError) as err:
        client.responses.create(model="tiny", input="hi", previous_response_id="resp_nope")
    assert "Previous response with id 'resp_nope' not found." in err.value.message


def test_streamed_forced_call(client: openai.OpenAI) -> None:
    events = list(
        client.responses.create(
            model="tiny-tools",
            input="weather?",
            tools=[WEATHER],
            tool_choice="required",
            max_output_tokens=120,
            temperature=0,
            stream=True,
        )
    )
    done = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert len(done) == 1 and json.loads(done[0].arguments)["city"] in ("Paris", "Rome")
    assert events[-1].type == "response.completed"


def test_structured_output_parse(client: openai.OpenAI) -> None:
    out = client.responses.parse(
        model="tiny", input="hi", text_format=Verdict, max_output_tokens=40, temperature=0
    )
    assert isinstance(out.output_parsed, Verdict) and out.output_parsed.size in ("S", "M", "L")


def test_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="nope", input="hi")
    with pytest.raises(openai.BadRequestError) as bad:
        client.responses.create(model="tiny", input="hi", tools=[{"type": "web_search"}])
    assert "only function tools run locally" in bad.value.message
    with pytest.raises(openai.BadRequestError) as tools:
        client.responses.create(model="tiny", input="hi", tools=[WEATHER])
    assert "does not support tools" in tools.value.message
