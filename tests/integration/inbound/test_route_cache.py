"""A container keeps a WhatsApp number's route for a short while (the Meta webhook looks one up per notification):
a change made elsewhere is seen within ``WHATSAPP_ROUTE_TTL_S``, one made by this process at once."""

from __future__ import annotations

import pytest

from chalicelib.core.db import keys
from chalicelib.core.db.keys import RouteKind
from chalicelib.core.db.store import Table
from chalicelib.core.ids import new_id
from chalicelib.inbound import routing
from chalicelib.inbound.routing import WHATSAPP_ROUTE_TTL_S, WhatsAppRoute, find_whatsapp_route

pytestmark = pytest.mark.usefixtures("stack")


def test_a_route_read_is_kept_until_its_ttl_and_forgotten_at_once_when_this_process_changes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1_000.0]
    monkeypatch.setattr(routing, "monotonic", lambda: clock[0])
    tenant_id, number = new_id(), f"bench{new_id()}"
    route_key = (keys.route_pk(RouteKind.WHATSAPP_PHONE_ID, number), keys.ROUTE_SK)
    try:
        assert find_whatsapp_route(number) is None
        Table().transact([routing.whatsapp_route_op(tenant_id, number, "CH1")])  # this process: seen at once
        assert find_whatsapp_route(number) == WhatsAppRoute(number, tenant_id, "CH1")

        Table().delete(*route_key)  # as another container would disconnect it: not seen before the TTL
        clock[0] += WHATSAPP_ROUTE_TTL_S - 1
        assert find_whatsapp_route(number) == WhatsAppRoute(number, tenant_id, "CH1")
        clock[0] += 1
        assert find_whatsapp_route(number) is None

        Table().transact([routing.whatsapp_route_op(tenant_id, number)])
        assert find_whatsapp_route(number) == WhatsAppRoute(number, tenant_id, None)
        Table().transact([routing.remove_whatsapp_route_op(tenant_id, number)])
        assert find_whatsapp_route(number) is None
    finally:
        Table().delete(*route_key)
        routing._whatsapp_routes.pop(number, None)
