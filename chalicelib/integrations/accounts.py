"""Provider accounts connected through BTRIX's shared apps, and the tenant each belongs to.

BTRIX's own Bling app and MelhorEnvio app have one webhook URL for every tenant that consented to them, and their
webhooks name the provider's account (Bling's ``companyId``, MelhorEnvio's ``data.user_id``), not the tenant. When a
tenant connects by consent, the provider is asked who the account is and a route is written with the integration,
in its transaction: ``ROUTE#ACCOUNT#<provider>#<account id>`` → the tenant. An account belongs to one tenant: another
tenant's consent to the same account is refused (409, ``AccountTaken``) until the first disconnects. Replacing the
credentials (another consent, a ``PUT``) or disconnecting removes the tenant's old route in the same transaction; the
provider disconnecting the integration (``invalid_grant``) does not: the account stays its tenant's, whose reconnect
finds it so (docs/SECURITY.md).

The webhook functions look the route up per delivery (``tenant_of``), kept ``ACCOUNT_ROUTE_TTL_S`` per container; the
process that writes or removes a route forgets it at once. The ops join the integration's transaction, run inside
``core.db.scope.unscoped()``: the route keys are not the tenant's.
"""

from __future__ import annotations

from dataclasses import dataclass
from time import monotonic

from boto3.dynamodb.conditions import Attr

from chalicelib.core import clock
from chalicelib.core.db import keys
from chalicelib.core.db.store import Table, WriteOp, delete_op, put_op
from chalicelib.core.db.table import ENTITY, PARTITION_KEY, SORT_KEY
from chalicelib.core.errors import Conflict
from chalicelib.core.kept import kept
from chalicelib.integrations.credentials import Provider

__all__ = ["ACCOUNT_ROUTE_TTL_S", "AccountTaken", "claim_op", "release_op", "tenant_of"]

ACCOUNT_ROUTE_TTL_S = 30.0
ROUTE_ENTITY = "Route"
_routes: dict[tuple[Provider, str], tuple[float, str | None]] = {}


@dataclass
class AccountTaken(Conflict):
    """The provider account is connected to another tenant (409 ``account-taken``, naming the account)."""

    code: str = "account-taken"


def claim_op(tenant_id: str, provider: Provider, account_id: str, shown: str | None = None) -> WriteOp:
    """The write that routes ``account_id``'s webhooks to the tenant; ``AccountTaken`` if another tenant has it."""
    _routes.pop((provider, account_id), None)
    item = {
        PARTITION_KEY: keys.provider_account_pk(provider.value, account_id),
        SORT_KEY: keys.ROUTE_SK,
        ENTITY: ROUTE_ENTITY,
        "tenantId": tenant_id,
        "provider": provider.value,
        "accountId": account_id,
        "connectedAt": clock.now_iso(),
    }
    taken = AccountTaken(
        detail=f"the {provider.value} account {shown or account_id} (id {account_id}) is connected to another BTRIX "
        "account; disconnect it there first",
        title="Account connected elsewhere",
    )
    free = Attr(PARTITION_KEY).not_exists() | Attr("tenantId").eq(tenant_id)
    return put_op(item, condition=free, conflict=taken)


def release_op(tenant_id: str, provider: Provider, account_id: str) -> WriteOp:
    """The write that stops routing ``account_id`` to the tenant (nothing when the route is gone already; another
    tenant's route is never removed)."""
    _routes.pop((provider, account_id), None)
    pk = keys.provider_account_pk(provider.value, account_id)
    gone_or_ours = Attr(PARTITION_KEY).not_exists() | Attr("tenantId").eq(tenant_id)
    return delete_op(pk, keys.ROUTE_SK, gone_or_ours)


def tenant_of(provider: Provider, account_id: str) -> str | None:
    """The tenant that connected ``account_id`` through BTRIX's shared app, or None (as read at most
    ``ACCOUNT_ROUTE_TTL_S`` ago in this container)."""

    try:
        pk = keys.provider_account_pk(provider.value, account_id)
    except keys.InvalidKey:
        return None  # no account we could have routed (an empty id, a "#")

    def read() -> str | None:
        item = Table().get(pk, keys.ROUTE_SK)
        return None if item is None else str(item["tenantId"])

    return kept(_routes, (provider, account_id), read, ttl_s=ACCOUNT_ROUTE_TTL_S, now=monotonic(), fresh=False)
