"""The marketplace's categories and brands: the platform operator's, global (``MARKET#`` keys, read and written
inside ``unscoped()``), unique by folded name."""

from __future__ import annotations

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.core import clock
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, unscoped
from chalicelib.core.errors import Conflict, FieldError, invalid_field
from chalicelib.core.ids import new_id
from chalicelib.core.pagination import Page, PageParams, paginate
from chalicelib.marketplace import store
from chalicelib.marketplace.models import CreateMarketGroupRequest, MarketGroup, MarketGroupKind

__all__ = ["check_group", "create_group", "find_group", "list_groups"]


def create_group(principal: Principal, kind: MarketGroupKind, body: CreateMarketGroupRequest) -> MarketGroup:
    """A new marketplace category or brand (platform operator); its name is unique across the marketplace."""
    require(principal, Permission.PLATFORM_MARKETPLACE)
    group = MarketGroup(
        id=new_id(), kind=kind, name=body.name, description=body.description, icon=body.icon, created_at=clock.now_iso()
    )
    taken = Conflict(
        detail=f"a marketplace {kind} named {body.name!r} exists",
        errors=(FieldError("body.name", "already taken", "duplicate"),),
    )
    with unscoped():  # the marketplace's categories and brands are global, the platform operator's
        Table().transact(
            [
                store.group_claim_op(kind, body.name, group.id).on_conflict(taken),
                *store.group_ops(group),
                # Audited in the operator's own (platform) partition, as the operator's other actions.
                audit_op(
                    principal,
                    f"marketplace.{kind}_created",
                    Kind.CATEGORY if kind == "category" else Kind.BRAND,
                    group.id,
                    after=group.model_dump(exclude_none=True),
                ),
            ]
        )
    return group


def find_group(kind: MarketGroupKind, name: str) -> MarketGroup | None:
    """The marketplace category or brand called ``name`` (case and accents ignored), or None."""
    with unscoped():
        return store.group_named(kind, name)


def list_groups(principal: Principal, kind: MarketGroupKind, params: PageParams) -> Page[MarketGroup]:
    """The marketplace's categories or brands, by name (every tenant with the module)."""
    require(principal, Permission.MARKETPLACE_READ)
    with unscoped():  # global index
        return paginate(
            Page[MarketGroup],
            params,
            tenant_id=principal.tenant_id,
            scope=f"market-groups:{kind}",
            fetch=lambda start: store.list_groups(kind, params.limit, start),
            convert=lambda group: group,
        )


def check_group(kind: MarketGroupKind, group_id: str | None, field: str) -> None:
    """Refuse (422 naming ``field``) a category or brand id the marketplace does not have (inside ``unscoped()``)."""
    if group_id is not None and not store.groups_exist(kind, group_id):
        raise invalid_field(field, f"no marketplace {kind} with that id", f"unknown-{kind}")
