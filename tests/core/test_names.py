"""Model-name parsing and validation, with Ollama's test vectors (types/model/name_test.go)."""

from __future__ import annotations

import pytest

from corral.core.errors import InvalidModelName
from corral.core.names import ModelName, parse_name, parse_name_bare, validate_name

P80 = "x" * 80
P81 = "x" * 81
H350 = "h" * 350
H351 = "h" * 351


@pytest.mark.parametrize(
    "s",
    [
        "h/n/m:t",
        "host/namespace/model:tag",
        "_why/_the/_lucky:_stiff",
        "host:https/namespace/model:tag",
        f"{P80}/{P80}/{P80}:{P80}",
        f"{H350}/{P80}/{P80}:{P80}",
        "a:123/aa/bb:cc",
        "localhost:5000/my-ns/my.model_1:v1.2-rc_3",
    ],
)
def test_bare_valid(s: str) -> None:
    assert parse_name_bare(s).is_valid()


@pytest.mark.parametrize(
    "s",
    [
        "",
        "model",
        "namespace/model",
        "host/namespace/model",  # no tag
        "n/m:",
        "m@d",
        "^",
        "mm:",
        "/nn/mm",
        "//",
        "hh//",
        "-hh/nn/mm:tt",
        "hh/-nn/mm:tt",
        "hh/nn/-mm:tt",
        "hh/nn/mm:-tt",
        "host/name:space/model:tag",
        "hh/na.me/mm:tt",
        f"{H351}/{P80}/{P80}:{P80}",
        f"{P80}/{P81}/{P80}:{P80}",
        f"{P80}/{P80}/{P81}:{P80}",
        f"{P80}/{P80}/{P80}:{P81}",
    ],
)
def test_bare_invalid(s: str) -> None:
    assert not parse_name_bare(s).is_valid()


@pytest.mark.parametrize(
    ("host", "namespace", "model", "valid"),
    [
        ("a:123", "ns", "m", True),
        ("a:123/aa/bb", "ns", "m", False),
        ("h", "a.", "m", False),
        ("h", "ns", "-h", False),
        ("h", "ns", "m:x", False),  # ':' only in the host
        ("h", "ns", "é", False),  # ASCII only
    ],
)
def test_parts(host: str, namespace: str, model: str, valid: bool) -> None:
    assert ModelName(host, namespace, model, "t").is_valid() is valid


def test_defaults() -> None:
    n = parse_name("xx")
    assert (n.host, n.namespace, n.model, n.tag, n.scheme) == (
        "registry.ollama.ai",
        "library",
        "xx",
        "latest",
        "https",
    )
    assert n.display_full() == "registry.ollama.ai/library/xx:latest"
    assert str(n) == n.display_full()


@pytest.mark.parametrize(
    ("s", "parts"),
    [
        ("llama3.2", ("registry.ollama.ai", "library", "llama3.2", "latest")),
        ("llama3.2:1b", ("registry.ollama.ai", "library", "llama3.2", "1b")),
        ("me/mine:v1", ("registry.ollama.ai", "me", "mine", "v1")),
        ("localhost:5000/ns/m", ("localhost:5000", "ns", "m", "latest")),
        ("localhost:5000/ns/m:t", ("localhost:5000", "ns", "m", "t")),
        ("http://localhost:5000/ns/m:t", ("localhost:5000", "ns", "m", "t")),
    ],
)
def test_parse_parts(s: str, parts: tuple[str, str, str, str]) -> None:
    n = parse_name(s)
    assert n.is_valid()
    assert (n.host, n.namespace, n.model, n.tag) == parts


def test_scheme_kept_but_not_compared() -> None:
    n = parse_name("http://localhost:5000/ns/m:t")
    assert n.scheme == "http"
    assert n == parse_name("localhost:5000/ns/m:t")


@pytest.mark.parametrize(
    ("s", "short"),
    [
        ("llama3.2", "llama3.2:latest"),
        ("REGISTRY.OLLAMA.AI/LIBRARY/m:t", "m:t"),
        ("me/mine", "me/mine:latest"),
        ("example.com/library/m:t", "example.com/library/m:t"),
        ("localhost:5000/ns/m:t", "localhost:5000/ns/m:t"),
    ],
)
def test_display_shortest(s: str, short: str) -> None:
    assert parse_name(s).display_shortest() == short


def test_equal_fold() -> None:
    a, b = parse_name("Llama3:Latest"), parse_name("llama3")
    assert a != b
    assert a.equal_fold(b)
    assert a.casefold_key() == b.casefold_key()
    assert not a.equal_fold(parse_name("llama3:8b"))


TRAVERSAL = [
    "../../etc/passwd",
    "a/../../b",
    "../x",
    "..",
    "./m",
    "-x",
    ".x",
    "h/na.me/m:t",
    "h/n/m:-t",
    "m:..",
    "m:.",
    "h/../m:t",
    "..\\..\\windows",
    "m/..",
    "/etc/passwd",
    "a b",
    "m\x00",
    "ns/m:t/..",
    "~/m",
]


@pytest.mark.parametrize("s", TRAVERSAL)
def test_traversal_names_rejected(s: str) -> None:
    with pytest.raises(InvalidModelName) as exc:
        validate_name(s)
    assert str(exc.value) == "invalid model name"
    assert exc.value.status == 400
    with pytest.raises(InvalidModelName):
        parse_name(s).manifest_relpath()


@pytest.mark.parametrize("value", [None, 3, b"m"])
def test_validate_name_rejects_non_strings(value: object) -> None:
    with pytest.raises(InvalidModelName):
        validate_name(value)


def test_manifest_relpath_and_from_relpath() -> None:
    n = validate_name("localhost:5000/ns/m:t")
    assert n.manifest_relpath() == ("localhost:5000", "ns", "m", "t")
    assert ModelName.from_relpath(n.manifest_relpath()) == n
    assert ModelName.from_relpath(("a", "b", "c")) is None
    assert ModelName.from_relpath(("h", "n", "m", ".corral-manifest-x.tmp")) is None
