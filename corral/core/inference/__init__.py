"""Generate and chat over loaded runners."""

from corral.core.inference.service import Inference
from corral.core.inference.types import ChatInput, Chunk, GenerateInput, LogprobEntry, Metrics

__all__ = ["ChatInput", "Chunk", "GenerateInput", "Inference", "LogprobEntry", "Metrics"]
