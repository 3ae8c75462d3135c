"""Model-name mapping of the conformance suite: roles, scratch names and rewriting expected bodies."""

from __future__ import annotations

from conformance.mapping import Binding, ModelMap, qualify, rewrite_names
from conformance.prepare import needed_capabilities
from conformance.transcripts import load_transcripts

BY_NAME = {t.name: t for t in load_transcripts()}
MODELS = ModelMap.load(chat="tiny-chat", code="tiny-code")


def test_chat_names_map_to_the_chat_model_and_others_by_role() -> None:
    bound = MODELS.bind(BY_NAME["api_chat_no_streaming"])
    assert not isinstance(bound, str)
    assert bound.body["model"] == "tiny-chat"
    assert bound.bindings == (Binding("llama3.2", "tiny-chat", "chat"),)
    code = MODELS.bind(BY_NAME["api_generate_suffix"])
    assert not isinstance(code, str) and code.body["model"] == "tiny-code"


def test_a_model_named_in_the_path_is_mapped_too() -> None:
    bound = MODELS.bind(BY_NAME["openai_models_retrieve"])  # GET /v1/models/llama3.2
    assert not isinstance(bound, str)
    assert bound.path == "/v1/models/tiny-chat" and bound.renames == {"llama3.2": "tiny-chat"}
    assert MODELS.bind(BY_NAME["api_chat_no_streaming"]).path is None  # type: ignore[union-attr]


def test_roles_without_a_player_fall_back_to_the_chat_model() -> None:
    bound = MODELS.bind(BY_NAME["api_chat_images"])  # llava: vision
    assert not isinstance(bound, str)
    assert bound.bindings[0] == Binding("llava", "tiny-chat", "vision")


def test_targets_of_create_copy_delete_are_moved_to_the_scratch_namespace() -> None:
    delete = MODELS.bind(BY_NAME["api_delete"])
    assert not isinstance(delete, str) and delete.body == {"model": "conformance/llama3:13b"}
    copy = MODELS.bind(BY_NAME["api_copy"])
    assert not isinstance(copy, str)
    assert copy.body == {"source": "tiny-chat", "destination": "conformance/llama3-backup"}
    create = MODELS.bind(BY_NAME["openapi_create_example"])
    assert not isinstance(create, str)
    assert (create.body["model"], create.body["from"]) == ("conformance/mario", "tiny-chat")


def test_missing_names_stay_and_pull_uses_the_pull_model() -> None:
    bound = MODELS.bind(BY_NAME["err_chat_model_not_found"])
    assert not isinstance(bound, str) and bound.body["model"] == "nope"
    pull = MODELS.bind(BY_NAME["api_pull_streaming"])
    assert not isinstance(pull, str) and pull.body["model"] == "gemma3:270m"


def test_expected_bodies_get_the_local_names_in_values_and_error_texts() -> None:
    renames = {"test": "tiny-chat", "llama3:13b": "conformance/llama3:13b", "llama3.2": "tiny-chat"}
    assert rewrite_names({"model": "llama3.2"}, renames) == {"model": "tiny-chat"}
    assert (
        rewrite_names('"test" does not support thinking', renames) == '"tiny-chat" does not support thinking'
    )
    assert (
        rewrite_names("registry.ollama.ai/library/test:latest does not support insert", renames)
        == "registry.ollama.ai/library/tiny-chat:latest does not support insert"
    )
    assert (
        rewrite_names("model 'llama3:13b' not found", renames) == "model 'conformance/llama3:13b' not found"
    )
    assert rewrite_names("a test of nothing", renames) == "a test of nothing"


def test_qualified_names() -> None:
    assert qualify("gemma3:270m") == "registry.ollama.ai/library/gemma3:270m"
    assert qualify("conformance/x") == "registry.ollama.ai/conformance/x:latest"
    assert qualify("example.com/a/b:c") == "example.com/a/b:c"


def test_capabilities_a_request_needs() -> None:
    assert needed_capabilities("POST /api/generate", {"suffix": "x", "images": ["aGk="]}) == [
        "insert",
        "vision",
    ]
    assert needed_capabilities("POST /api/chat", {"tools": [{}], "think": "low"}) == ["tools", "thinking"]
    assert needed_capabilities("POST /api/chat", {"think": False, "tools": []}) == []
