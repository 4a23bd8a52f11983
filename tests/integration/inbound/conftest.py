"""The webhook functions served as ``make run`` serves them: function-URL events over loopback HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest


@pytest.fixture(scope="module")
def hooks(stack: Any) -> Iterator[httpx.Client]:
    """An HTTP client whose base URL is the local function-URL server (``/hooks/<provider>``)."""
    from functions import FUNCTION_URLS
    from localdev.function_urls import make_server

    server = make_server("127.0.0.1", 0, FUNCTION_URLS)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        with httpx.Client(base_url=f"http://{host!s}:{port}/hooks", timeout=30) as client:
            yield client
    finally:
        server.shutdown()
        server.server_close()
