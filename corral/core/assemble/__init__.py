"""Post-processing of generated output: UTF-8 joining, stop strings, thinking and tool-call parsing.

All parsers are pure and incremental: ``push`` a piece, get back what is safe to emit now; ``flush``
at the end. The order a generation runs them in::

    text = joiner.push(piece_bytes)              # Utf8Joiner
    text, hit = stops.push(text)                 # StopMatcher (on the raw text)
    thinking, text = thinking_parser.push(text)  # ThinkingParser, when thinking is on
    content, calls = tool_parser.push(text)      # ToolCallParser, on the content only

The thinking tags come from ``thinking_tags(template)``; pass ``starts_in_thinking=True`` to the
parser when ``starts_in_thinking(prompt, opening, closing, continued)`` says the prompt already
opened the block (the template opened it, or a prefilled assistant message left it open).
"""

from corral.core.assemble.infer import ToolCallFormat, thinking_tags, tool_call_format
from corral.core.assemble.stops import StopMatcher
from corral.core.assemble.thinking import ThinkingParser, prompt_opens_thinking, starts_in_thinking
from corral.core.assemble.toolcalls import ToolCallParser, new_tool_call_id
from corral.core.assemble.utf8 import Utf8Joiner

__all__ = [
    "StopMatcher",
    "ThinkingParser",
    "ToolCallFormat",
    "ToolCallParser",
    "Utf8Joiner",
    "new_tool_call_id",
    "prompt_opens_thinking",
    "starts_in_thinking",
    "thinking_tags",
    "tool_call_format",
]
