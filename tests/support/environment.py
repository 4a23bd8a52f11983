"""Settings changed for a while: environment variables set, the cached settings dropped, both put back after."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

__all__ = ["settings_from"]


@contextmanager
def settings_from(values: Mapping[str, str]) -> Iterator[None]:
    """Run the block with ``values`` in the environment and the application's settings re-read from it."""
    from chalicelib.core.config import get_settings

    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()
