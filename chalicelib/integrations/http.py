"""HTTP to providers: one shared httpx client with timeouts, and provider failures as ``ProviderError``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Literal

from chalicelib.core.config import get_settings

if TYPE_CHECKING:
    import httpx

__all__ = ["ProviderError", "client", "json_object", "send"]

_CONNECT_TIMEOUT_S = 3.0


@dataclass
class ProviderError(Exception):
    """Raised when a provider refuses the credentials (``refused``), cannot be reached or answers with an error."""

    kind: Literal["refused", "unavailable", "error"]
    detail: str
    status: int | None = None

    def __post_init__(self) -> None:
        super().__init__(self.detail)


@cache
def client() -> httpx.Client:
    """The process's provider client (connection reuse across invocations; timeouts from the settings)."""
    import httpx

    limit = get_settings().provider_timeout_s
    # A provider that does not even accept the connection within a few seconds is down: fail fast on that part.
    timeout = httpx.Timeout(limit, connect=min(limit, _CONNECT_TIMEOUT_S))
    return httpx.Client(timeout=timeout, follow_redirects=False, headers={"User-Agent": "btrix/1"})


def send(what: str, request: Callable[[httpx.Client], httpx.Response]) -> httpx.Response:
    """Run ``request`` with the shared client; a 2xx comes back, anything else is a ``ProviderError``."""
    import httpx

    try:
        response = request(client())
    except httpx.TimeoutException as exc:
        raise ProviderError("unavailable", f"{what} did not answer in time") from exc
    except httpx.HTTPError as exc:
        raise ProviderError("unavailable", f"{what} could not be reached ({type(exc).__name__})") from exc
    if response.status_code in (401, 403):
        raise ProviderError("refused", f"{what} refused the credentials ({response.status_code})", response.status_code)
    if response.status_code == 429 or response.status_code >= 500:
        raise ProviderError("unavailable", f"{what} answered {response.status_code}", response.status_code)
    if response.status_code >= 300:
        raise ProviderError("error", f"{what} answered {response.status_code}", response.status_code)
    return response


def json_object(what: str, response: httpx.Response) -> dict[str, object]:
    """The response's JSON object, or a ``ProviderError`` if it is not one."""
    try:
        body = response.json()
    except ValueError as exc:
        raise ProviderError("error", f"{what} did not answer with JSON") from exc
    if not isinstance(body, dict):
        raise ProviderError("error", f"{what} did not answer with a JSON object")
    return body
