"""Inside a tenant's request the data layer refuses keys of other tenants, as the tenant's IAM session would."""

from __future__ import annotations

import pytest

from chalicelib.core.db import keys
from chalicelib.core.db.keys import Kind, RouteKind
from chalicelib.core.db.store import Table, TenantScopeViolation, put_op, tenant_scope, unscoped
from chalicelib.core.ids import new_id

pytestmark = pytest.mark.usefixtures("stack")


def test_a_tenant_scope_reaches_only_its_own_keys(tenant_id: str) -> None:
    mine = keys.entity_pk(tenant_id, Kind.ORDER, new_id())
    other = keys.entity_pk(new_id(), Kind.ORDER, new_id())
    route = keys.route_pk(RouteKind.LOGIN_EMAIL, "abc")
    with tenant_scope(tenant_id):
        Table().put_new({"PK": mine, "SK": keys.META_SK})
        assert Table().get(mine, keys.META_SK) is not None
        for touch in (
            lambda: Table().get(other, keys.META_SK),
            lambda: Table().put({"PK": other, "SK": keys.META_SK}),
            lambda: Table().query_page(other),
            lambda: Table().transact([put_op({"PK": mine, "SK": "X"}), put_op({"PK": route, "SK": keys.ROUTE_SK})]),
        ):
            with pytest.raises(TenantScopeViolation, match="unscoped"):
                touch()
        assert Table().get(mine, "X") is None  # the refused transaction wrote nothing
        with unscoped():
            assert Table().get(other, keys.META_SK) is None
    assert Table().get(other, keys.META_SK) is None  # outside any request: the platform's own access
