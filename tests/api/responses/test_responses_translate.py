"""The pure translators of the Responses adapter and its bounded store, without HTTP."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from corral.api.responses import to_responses as out
from corral.api.responses.from_responses import from_responses_request, input_messages
from corral.api.responses.protocol import ResponsesRequest
from corral.api.responses.store import ResponseStore, Stored
from corral.core.errors import BadRequest, CorralError
from corral.core.inference import Chunk, Metrics
from corral.core.templates import Message, ToolCall, ToolCallFunction

FN = {"type": "function", "name": "f", "parameters": {"type": "object", "properties": {}}}


def req(**body: Any) -> ResponsesRequest:
    return msgspec.convert({"model": "m", "input": "hi", **body}, ResponsesRequest)


def test_items_become_core_messages() -> None:
    earlier = [Message("assistant", tool_calls=[ToolCall(ToolCallFunction("lookup", {}), "call_0")])]
    msgs = input_messages(
        [
            {"role": "developer", "content": "be brief"},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "q"}]},
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "think"}]},
            {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": '{"a": 1}'},
            {"type": "function_call", "call_id": "call_2", "name": "g", "arguments": ""},
            {"type": "function_call_output", "call_id": "call_1", "output": "one"},
            {
                "type": "function_call_output",
                "call_id": "call_0",
                "output": [{"type": "input_text", "text": "z"}],
            },
        ],
        earlier,
    )
    assert [(m.role, m.content) for m in msgs] == [
        ("system", "be brief"),
        ("user", "q"),
        ("assistant", ""),
        ("tool", "one"),
        ("tool", "z"),
    ]
    assert msgs[2].thinking == "think"
    assert [(c.function.name, c.function.arguments, c.function.index, c.id) for c in msgs[2].tool_calls] == [
        ("f", {"a": 1}, 0, "call_1"),
        ("g", {}, 1, "call_2"),
    ]
    assert msgs[3].tool_name == "f" and msgs[4].tool_name == "lookup"


def test_plan_options_tools_and_formats() -> None:
    prior = [Message("user", "before"), Message("assistant", "answer")]
    plan = from_responses_request(
        req(instructions="sys", temperature=0.2, top_p=0.5, max_output_tokens=7, reasoning={"effort": "low"}),
        prior,
    )
    assert [m.role for m in plan.input.messages] == ["system", "user", "assistant", "user"]
    assert [m.content for m in plan.conversation] == ["before", "answer", "hi"]
    assert plan.input.options == {"temperature": 0.2, "top_p": 0.5, "num_predict": 7}
    assert from_responses_request(req()).input.options == {"temperature": 1.0, "top_p": 1.0}
    assert plan.input.think == "low" and plan.store and not plan.stream
    forced = from_responses_request(req(tools=[FN], tool_choice={"type": "function", "name": "f"}))
    assert forced.force_tool and forced.tools == [FN] and forced.input.tools[0].function.name == "f"
    assert from_responses_request(req(tools=[FN], tool_choice="none")).input.tools == []
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    fmt = {"format": {"type": "json_schema", "name": "v", "schema": schema, "strict": True}}
    assert from_responses_request(req(text=fmt)).input.format == schema
    assert from_responses_request(req(text={"format": {"type": "json_object"}})).input.format == "json"
    assert from_responses_request(req(store=False)).store is False


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": ""}, "model is required"),
        ({"input": []}, "non-empty list of items"),
        ({"input": [{"role": "tool", "content": "x"}]}, "invalid role 'tool'"),
        ({"input": [{"type": "item_reference", "id": "x"}]}, "unsupported input item type 'item_reference'"),
        ({"input": [{"role": "user", "content": [{"type": "input_file"}]}]}, "unsupported content part type"),
        ({"tools": [{"type": "file_search"}]}, "only function tools run locally"),
        ({"tools": [FN], "tool_choice": {"type": "function", "name": "g"}}, "'g', which is not in 'tools'"),
        ({"tool_choice": "required"}, "needs at least one tool"),
        ({"text": {"format": {"type": "xml"}}}, "invalid text.format type 'xml'"),
        ({"reasoning": {"effort": "huge"}}, "invalid reasoning value"),
        ({"background": True}, "background responses are not supported"),
        ({"max_output_tokens": 0}, "max_output_tokens must be at least 1"),
        (
            {"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{"}]},
            "invalid JSON",
        ),
    ],
)
def test_bad_requests(body: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest) as err:
        from_responses_request(req(**body))
    assert message in err.value.message


def test_output_items_and_status() -> None:
    call = ToolCall(ToolCallFunction("f", {"a": 1}), "call_9")
    joined = Chunk(content="x", thinking="t", tool_calls=[call], done=True, done_reason="length")
    items = out.output_items(joined)
    assert [i["type"] for i in items] == ["reasoning", "message", "function_call"]
    assert items[2]["arguments"] == '{"a":1}' and items[2]["call_id"] == "call_9"
    start = out.pending(req(), "resp_1", [], True)
    done = out.finished(start, items, joined)
    assert done.status == "completed" and done.incomplete_details is None  # a call is a whole answer
    cut = out.finished(start, out.output_items(Chunk(content="x", done=True, done_reason="length")), joined)
    assert cut.status == "incomplete" and cut.incomplete_details == {"reason": "max_output_tokens"}
    back = out.assistant_message(items)
    assert (back.content, back.thinking, back.tool_calls[0].function.arguments) == ("x", "t", {"a": 1})


def test_event_stream_sequence() -> None:
    stream = out.EventStream(out.pending(req(), "resp_1", [FN], True))
    events = stream.begin()
    events += stream.push(Chunk(thinking="a"))
    events += stream.push(Chunk(content="b"))
    events += stream.push(Chunk(content="c", tool_calls=[ToolCall(ToolCallFunction("f", {}), "call_1")]))
    final = Chunk(done=True, done_reason="stop", metrics=Metrics(prompt_eval_count=3, eval_count=2))
    tail, done = stream.finish(final)
    events += tail
    assert [n for n, _ in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    assert [i["type"] for i in done.output] == ["reasoning", "message", "function_call"]
    assert done.output[1]["content"][0]["text"] == "bc" and done.usage is not None
    assert (done.usage.input_tokens, done.usage.output_tokens, done.usage.total_tokens) == (3, 2, 5)
    failed = out.EventStream(out.pending(req(), "resp_2", [], True)).failed("server_error", "boom")
    assert failed[1]["response"].status == "failed" and failed[1]["response"].error["message"] == "boom"


def test_store_is_bounded_lru() -> None:
    store = ResponseStore(capacity=2)

    def put(rid: str) -> None:
        store.put(Stored(out.pending(req(), rid, [], True), [Message("user", rid)]))

    put("a")
    put("b")
    assert store.get("a").conversation[0].content == "a"  # a is now the most recently used
    put("c")
    assert len(store) == 2 and store.get("c") and store.get("a")
    with pytest.raises(CorralError) as gone:
        store.get("b", previous=True)
    assert gone.value.status == 404 and gone.value.message == "Previous response with id 'b' not found."
    store.delete("a")
    with pytest.raises(CorralError):
        store.delete("a")
