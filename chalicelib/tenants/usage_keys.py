"""Each tenant's API key in its plan's API Gateway usage plan: the gateway throttles the tenant at its plan's rate,
burst and daily quota, and no client ever sends a key.

The REST API's key source is ``AUTHORIZER``: the authorizer (``chalicelib/auth/authorizer.py``) names the key of the
access token's tenant as ``usageIdentifierKey``. The key's value is derived from the tenant id
(``core.throttle.usage_key_value``), so the authorizer reads nothing; it is no credential (API Gateway ignores a key
a client sends), only the name of a usage-plan member.

The key follows the tenant. It is created in its plan's usage plan at signup, right after the signup's
transaction, so that the new tenant's first requests find it (``tenant.created`` does it again, which completes a
signup whose call failed). It moves to the new plan's usage plan when the plan changes (``tenant.plan_changed``, by
the platform operator or by billing), and is removed with the tenant (``remove_usage_key``). The ``usage-keys`` bus
rule routes those events to the integrations queue, whose dispatcher runs ``sync_usage_key`` once per event, retried
with backoff and then dead-lettered like every job. Each run makes the key match the plan stored now, so runs are
idempotent and their order does not matter. A move leaves the old usage plan before joining the new one (API
Gateway allows a key in one usage plan per stage): for those few milliseconds the gateway refuses the tenant's
requests (403), and the job's retry finishes a move that failed in between. Tenants older than the keys get theirs
from ``python -m chalicelib.tenants.usage_keys`` (every tenant, once, after the first deploy with them).

The usage plans are found by name (``<resource prefix>-<plan id>``, as infra names them). Without
``BTRIX_USAGE_KEYS`` (the local stack; the tests but this module's) nothing is done: the application's own
per-tenant buckets (``core/throttle.py``) throttle alone.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from chalicelib.core import aws
from chalicelib.core.config import get_settings
from chalicelib.core.db.store import unscoped
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.throttle import usage_key_value
from chalicelib.integrations import jobs
from chalicelib.tenants import service, store

__all__ = ["main", "register_handlers", "remove_usage_key", "sync_every_usage_key", "sync_usage_key", "usage_key_name"]


def usage_key_name(tenant_id: str) -> str:
    """The API key's name: the deployment's prefix and the tenant id."""
    return f"{get_settings().resource_prefix}-tenant-{tenant_id}"


_T = TypeVar("_T")


def _calling_gateway(work: Callable[[], _T]) -> _T:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return work()
    except (BotoCoreError, ClientError) as exc:  # retried by the job (DependencyUnavailable is retryable)
        raise DependencyUnavailable(detail=f"API Gateway refused or failed a usage-key call: {exc}") from exc


def _usage_plan_ids(client: Any) -> dict[str, str]:
    """Plan id → the id of its usage plan in this deployment (one list call: signups and plan changes are rare)."""
    prefix = f"{get_settings().resource_prefix}-"
    pages = client.get_paginator("get_usage_plans").paginate()
    plans = [plan for page in pages for plan in page.get("items", []) if plan.get("name", "").startswith(prefix)]
    return {plan["name"].removeprefix(prefix): plan["id"] for plan in plans}


def _find_key(client: Any, tenant_id: str) -> dict[str, Any] | None:
    name = usage_key_name(tenant_id)
    pages = client.get_paginator("get_api_keys").paginate(nameQuery=name, includeValues=False)
    # nameQuery matches names that start with it: only the exact name is the tenant's.
    return next((key for page in pages for key in page.get("items", []) if key.get("name") == name), None)


def _plans_of(client: Any, key_id: str) -> set[str]:
    pages = client.get_paginator("get_usage_plans").paginate(keyId=key_id)
    return {plan["id"] for page in pages for plan in page.get("items", [])}


def sync_usage_key(tenant_id: str) -> str | None:
    """Make the tenant's API key exist and be in its current plan's usage plan only; returns what changed (None:
    nothing to do). ``DependencyUnavailable`` when API Gateway fails (the job tries again)."""
    return _calling_gateway(lambda: _sync_key(tenant_id))


def _sync_key(tenant_id: str) -> str | None:
    if not get_settings().usage_keys:
        return None
    tenant = service.find_tenant(tenant_id, consistent=True)
    if tenant is None:
        return _remove_key(tenant_id)
    client = aws.apigateway()
    wanted = _usage_plan_ids(client).get(tenant.plan_id)
    if wanted is None:  # a deployment without this plan's usage plan: retried, then dead-lettered, visible
        raise DependencyUnavailable(detail=f"no usage plan {get_settings().resource_prefix}-{tenant.plan_id}")
    key = _find_key(client, tenant_id)
    done: list[str] = []
    if key is None:
        key = client.create_api_key(
            name=usage_key_name(tenant_id),
            value=usage_key_value(tenant_id),
            enabled=True,
            customerId=tenant_id,
            description=f"Usage-plan key of tenant {tenant_id} (named by the authorizer, never sent by clients)",
        )
        done.append("created the API key")
    current = _plans_of(client, key["id"])
    for stale in sorted(current - {wanted}):
        client.delete_usage_plan_key(usagePlanId=stale, keyId=key["id"])
        done.append(f"left usage plan {stale}")
    if wanted not in current:
        client.create_usage_plan_key(usagePlanId=wanted, keyId=key["id"], keyType="API_KEY")
        done.append(f"joined the usage plan of {tenant.plan_id} ({wanted})")
    return "; ".join(done) or None


def remove_usage_key(tenant_id: str) -> str | None:
    """Delete the tenant's API key (and so its usage-plan memberships): the tenant is gone."""
    return _calling_gateway(lambda: _remove_key(tenant_id))


def _remove_key(tenant_id: str) -> str | None:
    if not get_settings().usage_keys:
        return None
    client = aws.apigateway()
    key = _find_key(client, tenant_id)
    if key is None:
        return None
    client.delete_api_key(apiKey=key["id"])
    return "deleted the API key"


def _sync(job: jobs.Job) -> str | None:
    return sync_usage_key(job.tenant_id)


def _tenant_ids() -> Iterator[str]:
    start: dict[str, str] | None = None
    while True:
        with unscoped():  # the platform's list of tenants spans every tenant
            page = store.list_tenants(None, 100, start)
        yield from (tenant.id for tenant in page.items)
        if page.last_key is None:
            return
        start = page.last_key


def sync_every_usage_key() -> int:
    """Give every tenant (the platform's own too: its operators' requests are counted under it) its key in its
    plan's usage plan; returns how many changed."""
    changed = 0
    for tenant_id in _tenant_ids():
        if sync_usage_key(tenant_id) is not None:
            changed += 1
    return changed


def main(argv: list[str] | None = None) -> int:
    """Command line entry point: ``python -m chalicelib.tenants.usage_keys [--tenant ID …]`` syncs the keys of the
    tenants named, or of every tenant."""
    parser = argparse.ArgumentParser(description="Put tenants' API keys in their plans' usage plans")
    parser.add_argument("--tenant", action="append", default=[], help="only this tenant (repeatable)")
    arguments = parser.parse_args(argv)
    if not get_settings().usage_keys:
        print("BTRIX_USAGE_KEYS is off: this deployment keeps no usage-plan keys")
        return 1
    if arguments.tenant:
        changed = sum(sync_usage_key(tenant_id) is not None for tenant_id in arguments.tenant)
    else:
        changed = sync_every_usage_key()
    print(f"{changed} tenant key(s) created or moved")
    return 0


def register_handlers() -> None:
    """Keep the tenants' keys in step with their plans (app.py, at import): the ``usage-keys`` bus rule's events."""
    for event_type in ("tenant.created", "tenant.plan_changed"):
        jobs.register(jobs.event_kind(event_type), _sync, operation="usage_key")


if __name__ == "__main__":
    raise SystemExit(main())
