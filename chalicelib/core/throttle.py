"""Per-tenant request throttling in the process: a token bucket per tenant at its plan's rate and burst.

In AWS, API Gateway throttles each tenant before the function runs: every tenant has an API key in its plan's usage
plan and the authorizer names it (API key source ``AUTHORIZER``), so clients send no key. The same limits are kept
here, in the process, for every authenticated request: locally (``make run``, the tests' gateway) they are the only
ones, in AWS a defence in depth (one container sees only part of a tenant's requests, so it never refuses what the
gateway would let through). A request over the limit is ``RateLimited`` (429, ``Retry-After``). Unauthenticated
routes (login, signup, public webhooks) keep their own limits (``core/ratelimit.py``, the stage throttle).

The bucket of a tenant starts full (``burst`` tokens), each request takes one, and tokens come back at ``rate`` per
second up to ``burst``. Time is ``core.clock``'s, so tests drive the buckets with a frozen clock.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

from chalicelib.core import clock
from chalicelib.core.config import get_settings
from chalicelib.core.errors import RateLimited

__all__ = ["Allowance", "TenantThrottle", "tenant_throttle", "usage_key_value"]

# Buckets kept at most (least recently used dropped first): a bucket unused for burst/rate seconds is full again,
# so dropping an old one changes nothing but memory.
_MAX_BUCKETS = 10_000


@dataclass(frozen=True)
class Allowance:
    """How many requests a tenant may make: ``rate`` per second steadily, ``burst`` at once."""

    rate: float
    burst: int


@dataclass
class _Bucket:
    tokens: float
    at: float


class TenantThrottle:
    """Token buckets of tenants, kept in this process (thread-safe: the local server answers in threads)."""

    def __init__(self, max_buckets: int = _MAX_BUCKETS) -> None:
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_buckets

    def take(self, tenant_id: str, allowance: Allowance) -> None:
        """Count one request of ``tenant_id``; ``RateLimited`` (with the seconds until a token is back) when its
        bucket is empty. A plan change applies at the next request: the bucket refills at the new rate, up to the
        new burst."""
        now = clock.now().timestamp()
        with self._lock:
            bucket = self._buckets.pop(tenant_id, None) or _Bucket(tokens=float(allowance.burst), at=now)
            self._buckets[tenant_id] = bucket
            if len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
            elapsed = max(now - bucket.at, 0.0)
            bucket.tokens = min(float(allowance.burst), bucket.tokens + elapsed * allowance.rate)
            bucket.at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait = (1.0 - bucket.tokens) / allowance.rate
        raise RateLimited(
            detail=f"Too many requests for this account's plan ({allowance.rate:g}/s, bursts of {allowance.burst}).",
            limit="requestsPerSecond",
            retry_after=max(math.ceil(wait), 1),
        )


tenant_throttle = TenantThrottle()
"""The process's buckets (one per container in AWS, one per server locally)."""


def usage_key_value(tenant_id: str | None, *, prefix: str | None = None) -> str:
    """The value of the API Gateway key that stands for ``tenant_id`` in its plan's usage plan (None: the key shared
    by callers no valid access token identifies). The authorizer names it; it is no credential (clients never send
    keys: API Gateway takes them from the authorizer only). Unique in the account and region, as API Gateway
    requires, through the deployment's prefix (``prefix``, default this deployment's)."""
    return f"{prefix or get_settings().resource_prefix}-usage-{tenant_id or 'unidentified'}"
