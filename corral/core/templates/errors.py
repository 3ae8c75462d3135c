"""Template failures: parse errors with a position, and execution errors raised while rendering."""

from __future__ import annotations

from corral.core.errors import TemplateError

__all__ = ["TemplateExecError", "TemplateLimitError", "TemplateParseError", "position_of"]


def position_of(text: str, offset: int) -> tuple[int, int]:
    """Return the 1-based line and the 0-based byte column of ``offset`` in ``text`` (Go's convention)."""
    before = text[:offset]
    line = before.count("\n") + 1
    start = before.rfind("\n") + 1
    return line, len(before[start:].encode("utf-8", "surrogatepass"))


class TemplateParseError(TemplateError):
    """The template text is not a valid Go template (400); ``line``/``column`` locate the problem."""

    def __init__(self, detail: str, line: int, column: int) -> None:
        super().__init__(f"template: :{line}:{column}: {detail}")
        self.detail = detail
        self.line = line
        self.column = column


class TemplateExecError(TemplateError):
    """Rendering failed part-way (Ollama answers 500 with the Go-style error text)."""

    status = 500

    def __init__(self, detail: str, location: str = "", context: str = "") -> None:
        if location:
            message = f'template: :{location}: executing "" at <{context}>: {detail}'
        else:
            message = f"template: {detail}"
        super().__init__(message)
        self.detail = detail


class TemplateLimitError(TemplateExecError):
    """Rendering stopped because it exceeded the step or output budget."""
