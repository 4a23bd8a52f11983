"""Live-update connections: a global route per connection (→ tenant, user) and its entries in two rooms.

Every item expires with the longest a websocket connection lives (``CONNECTION_TTL``), so a connection API
Gateway never reported gone does not linger.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from chalicelib.core import clock
from chalicelib.core.db import keys
from chalicelib.core.db.keys import RouteKind
from chalicelib.core.db.store import Table, WriteOp, delete_op, put_op
from chalicelib.core.db.table import ENTITY, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE

__all__ = ["CONNECTION_TTL", "Connection", "find_connection", "forget_ops", "join_ops", "listeners"]

CONNECTION_TTL = timedelta(hours=2)


@dataclass(frozen=True)
class Connection:
    """Whose a websocket connection is."""

    connection_id: str
    tenant_id: str
    user_id: str


def _route_key(connection_id: str) -> tuple[str, str]:
    return keys.route_pk(RouteKind.WS_CONNECTION, connection_id), keys.ROUTE_SK


def _expiry() -> int:
    return clock.to_epoch(clock.now() + CONNECTION_TTL)


def join_ops(connection: Connection, rooms: Iterable[str], events: list[str], *, route: bool) -> list[WriteOp]:
    """Put the connection in ``rooms``, listening to ``events`` (replacing what it listened to), and, with
    ``route``, record whose it is."""
    expires = _expiry()
    ops = [
        put_op(
            {
                PARTITION_KEY: keys.room_pk(connection.tenant_id, room),
                SORT_KEY: connection.connection_id,
                ENTITY: "LiveConnection",
                "userId": connection.user_id,
                "events": events,
                TTL_ATTRIBUTE: expires,
            },
            must_not_exist=False,
        )
        for room in rooms
    ]
    if route:
        pk, sk = _route_key(connection.connection_id)
        item = {
            PARTITION_KEY: pk,
            SORT_KEY: sk,
            ENTITY: "LiveConnectionRoute",
            "tenantId": connection.tenant_id,
            "userId": connection.user_id,
            TTL_ATTRIBUTE: expires,
        }
        ops.insert(0, put_op(item, must_not_exist=False))
    return ops


def find_connection(connection_id: str) -> Connection | None:
    """Whose the connection is, or None (never connected, or forgotten)."""
    item = Table().get(*_route_key(connection_id))
    return Connection(connection_id, str(item["tenantId"]), str(item["userId"])) if item else None


def forget_ops(connection: Connection, rooms: Iterable[str]) -> list[WriteOp]:
    """Drop the connection's route and its entries in ``rooms``."""
    return [
        delete_op(*_route_key(connection.connection_id)),
        *(delete_op(keys.room_pk(connection.tenant_id, room), connection.connection_id) for room in rooms),
    ]


def listeners(tenant_id: str, room: str, event: str) -> Iterator[str]:
    """The connections in the tenant's ``room`` that listen to ``event``."""
    start: dict[str, str] | None = None
    while True:
        page = Table().query_page(keys.room_pk(tenant_id, room), limit=100, start_key=start)
        yield from (str(i[SORT_KEY]) for i in page.items if event in i.get("events", []))
        if page.last_key is None:
            return
        start = page.last_key
