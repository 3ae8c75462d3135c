"""The bounded in-memory store behind ``previous_response_id`` and ``GET /v1/responses/{id}``.

Ollama's Responses API is stateless; corral keeps the last :data:`CAPACITY` stored responses of
this server process (least recently used dropped first, nothing written to disk, all gone on
restart), which is enough for an agent's running conversation.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from corral.api.responses.protocol import ResponseObject
from corral.core.errors import CorralError
from corral.core.templates import Message

__all__ = ["CAPACITY", "ResponseStore", "Stored"]

CAPACITY = 256
"""Responses kept per server process."""


@dataclass(frozen=True)
class Stored:
    """A stored response: the object as answered and the conversation up to and including it."""

    response: ResponseObject
    conversation: list[Message]


class ResponseStore:
    """Stored responses by id, least recently used evicted beyond ``capacity``."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, Stored] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, stored: Stored) -> None:
        """Keep ``stored`` (evicting the least recently used beyond the capacity)."""
        with self._lock:
            self._items[stored.response.id] = stored
            self._items.move_to_end(stored.response.id)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def get(self, response_id: str, *, previous: bool = False) -> Stored:
        """The stored response; a 404 in OpenAI's wording when it is unknown (or was evicted)."""
        with self._lock:
            stored = self._items.get(response_id)
            if stored is not None:
                self._items.move_to_end(response_id)
                return stored
        if previous:
            raise CorralError(f"Previous response with id '{response_id}' not found.", 404)
        raise CorralError(f"Response with id '{response_id}' not found.", 404)

    def delete(self, response_id: str) -> None:
        """Forget a response (404 when unknown)."""
        with self._lock:
            if self._items.pop(response_id, None) is not None:
                return
        raise CorralError(f"Response with id '{response_id}' not found.", 404)

    def __len__(self) -> int:
        return len(self._items)
