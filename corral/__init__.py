"""corral: a local LLM server speaking the Ollama and OpenAI HTTP APIs over pluggable backends."""

__version__ = "0.1.0"
