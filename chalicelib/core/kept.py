"""A per-container memory of lookups a webhook makes on every delivery (which tenant a phone number, a portal or a
provider account routes to): a value read at most ``ttl_s`` ago is used again, else it is read now and kept. The
process that changes the looked-up item forgets it at once (``cache.pop(key, None)``); other containers see the
change within ``ttl_s``. The memory is bounded: keys of unverified payloads are looked up too."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

__all__ = ["MAX_KEPT", "kept"]

MAX_KEPT = 10_000
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def kept(cache: dict[K, tuple[float, V]], key: K, read: Callable[[], V], *, ttl_s: float, now: float, fresh: bool) -> V:
    """``cache[key]`` if it was read at most ``ttl_s`` before ``now`` (and not ``fresh``), else ``read()``, kept."""
    cached = None if fresh else cache.get(key)
    if cached is not None and now - cached[0] < ttl_s:
        return cached[1]
    found = read()
    if len(cache) >= MAX_KEPT:
        cache.clear()
    cache[key] = (now, found)
    return found
