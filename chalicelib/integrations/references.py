"""References an integration keeps: the provider's id for one of ours (a Billy product of a catalog service, an ERP's
product, a platform's order id claimed once), kept once per (provider, kind, local id) under the integration.
"""

from __future__ import annotations

from collections.abc import Iterator

from chalicelib.core import clock
from chalicelib.core.db.store import Table, TransactionConflict, WriteOp
from chalicelib.integrations import store
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.models import IntegrationRef

__all__ = ["drop_ref", "find_ref", "keep_ref", "list_refs", "ref_claim_op"]


def find_ref(tenant_id: str, provider: Provider, kind: str, local_id: str) -> str | None:
    """The provider's id for our ``kind`` ``local_id`` (e.g. the Billy product of a catalog service), or None."""
    ref = store.get_ref(tenant_id, provider, kind, local_id, consistent=True)
    return None if ref is None else ref.remote_id


def keep_ref(tenant_id: str, provider: Provider, kind: str, local_id: str, remote_id: str) -> str:
    """Remember the provider's id for ours; when another worker kept one first, that one stays and is returned."""
    try:
        Table().transact([ref_claim_op(tenant_id, provider, kind, local_id, remote_id)])
    except TransactionConflict:
        kept = find_ref(tenant_id, provider, kind, local_id)
        if kept is not None:
            return kept
        raise
    return remote_id


def ref_claim_op(tenant_id: str, provider: Provider, kind: str, local_id: str, remote_id: str) -> WriteOp:
    """The write that keeps a reference only if there is none yet, for a capability's own transaction (a second
    writer's transaction fails with ``TransactionConflict``: e.g. a platform's order id, claimed once)."""
    ref = IntegrationRef(kind=kind, local_id=local_id, remote_id=remote_id, created_at=clock.now_iso())
    return store.put_ref_op(tenant_id, provider, ref)


def list_refs(tenant_id: str, provider: Provider, kind: str) -> Iterator[IntegrationRef]:
    """Every reference of ``kind`` the integration keeps (e.g. the products linked to the ERP), page by page."""
    start: dict[str, str] | None = None
    while True:
        refs, page = store.list_refs(tenant_id, provider, kind, 100, start)
        yield from refs
        if page.last_key is None:
            return
        start = dict(page.last_key)


def drop_ref(tenant_id: str, provider: Provider, kind: str, local_id: str) -> None:
    """Forget the provider's id for ours (its object was deleted there)."""
    Table().transact([store.delete_ref_op(tenant_id, provider, kind, local_id)])
