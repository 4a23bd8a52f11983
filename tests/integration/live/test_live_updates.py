"""Live updates end to end: a domain event → table stream → bus rule → live-updates queue → websocket frame."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from app import app
from chalicelib.access.permissions import Role
from chalicelib.core.config import get_settings
from chalicelib.core.db import keys
from chalicelib.core.db.store import Table, put_op
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.live import service as live
from functions.outbox_publisher import handler as publish
from localdev.websocket import LocalWebsocketApi
from localdev.worker import QueueWorker, StreamWorker
from tests.support.contracts import status_changed
from tests.support.identity import Account, add_user, signup


@pytest.fixture(scope="module")
def gateway(stack: Any) -> Iterator[LocalWebsocketApi]:
    """The local websocket API, with the app pushing through its management endpoint."""
    api = LocalWebsocketApi(app, "127.0.0.1", 0, 0)
    api.start()
    _STREAM.append(StreamWorker(publish, from_now=True))  # this module's events only, not the session's backlog
    previous = os.environ.get("BTRIX_WEBSOCKET_MANAGEMENT_URL")
    os.environ["BTRIX_WEBSOCKET_MANAGEMENT_URL"] = api.management_url
    get_settings.cache_clear()
    yield api
    if previous is None:
        os.environ.pop("BTRIX_WEBSOCKET_MANAGEMENT_URL", None)
    else:
        os.environ["BTRIX_WEBSOCKET_MANAGEMENT_URL"] = previous
    get_settings.cache_clear()
    api.stop()


def _open(gateway: LocalWebsocketApi, account: Account) -> ClientConnection:
    return connect(f"ws://127.0.0.1:{gateway.ws_port}/?token={account.access_token}", open_timeout=10)


def _emit(type_: str, tenant_id: str, data: dict[str, Any], subject: str) -> None:
    Table().transact([event_put_op(new_event(type_, tenant_id, data, subject))])


_STREAM: list[StreamWorker] = []


def _deliver() -> None:
    """What Lambda's event sources do: stream → publisher → bus → queue → the app's consumer.

    One stream reader for the module, as one Lambda event source mapping would be: it never re-reads.
    """
    if not _STREAM:
        _STREAM.append(StreamWorker(publish, from_now=True))
    queues = QueueWorker(app, wait_seconds=1)
    for _ in range(3):
        _STREAM[0].poll_once()
        queues.poll_once()


def _frames(
    client: ClientConnection, wanted: int, timeout_s: float = 15.0, event: str | None = None
) -> list[dict[str, Any]]:
    """Frames received (of ``event`` only, when given: signups also send notification frames)."""
    frames: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while len(frames) < wanted and time.monotonic() < deadline:
        _deliver()
        try:
            while True:
                frame = json.loads(client.recv(timeout=0.5))
                if event is None or frame["event"] == event:
                    frames.append(frame)
        except TimeoutError:
            continue
    return frames


def _quiet(client: ClientConnection, seconds: float = 1.0, event: str = "order:update") -> list[Any]:
    """Frames of ``event`` that arrive within ``seconds`` (others, such as notifications, are ignored)."""
    found: list[Any] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = json.loads(client.recv(timeout=left))
        except TimeoutError:
            break
        if frame["event"] == event:
            found.append(frame)
    return found


def test_a_connection_without_a_valid_token_is_refused(gateway: LocalWebsocketApi) -> None:
    for query in ("", "?token=garbage"):
        with pytest.raises(InvalidStatus) as refused:
            connect(f"ws://127.0.0.1:{gateway.ws_port}/{query}", open_timeout=10)
        assert refused.value.response.status_code == 401


def test_order_updates_reach_the_tenant_once_and_no_other_tenant(api: Any, gateway: LocalWebsocketApi) -> None:
    admin, _ = signup(api)
    kitchen = add_user(api, admin, Role.KITCHEN)
    stranger, _ = signup(api)
    with _open(gateway, admin) as boss, _open(gateway, kitchen) as cook, _open(gateway, stranger) as other:
        order_id = new_id()
        changed = {**status_changed("order", "CONFIRMED", "PREPARING"), "assignedTo": kitchen.user_id}
        _emit("order.status_changed", admin.tenant_id, changed, order_id)
        boss_frames = _frames(boss, 1, event="order:update")
        cook_frames = _frames(cook, 1, event="order:update")
        assert len(boss_frames) == 1
        assert boss_frames[0]["id"]
        assert boss_frames == [
            {
                "event": "order:update",
                "id": boss_frames[0]["id"],
                "data": {"type": "order.status_changed", "id": order_id, **changed},
            }
        ]
        assert cook_frames == boss_frames  # once, though the cook is in both the tenant's and their own room
        assert _quiet(cook) == []
        assert _quiet(other) == []


def test_subscribe_narrows_the_events_a_connection_gets(api: Any, gateway: LocalWebsocketApi) -> None:
    admin, _ = signup(api)
    with _open(gateway, admin) as client:
        client.send(json.dumps({"action": "subscribe", "events": ["appointment:update"]}))
        assert json.loads(client.recv(timeout=10)) == {
            "event": "subscribed",
            "data": {"events": ["appointment:update"]},
        }
        order_created = {"number": 1, "total": {"amount": "10.00", "currency": "BRL"}, "channel": "web"}
        _emit("order.created", admin.tenant_id, order_created, new_id())
        _emit(
            "appointment.status_changed",
            admin.tenant_id,
            status_changed("appointment", "BOOKED", "CONFIRMED"),
            "apt-1",
        )
        frames = _frames(client, 1)
        assert [f["event"] for f in frames] == ["appointment:update"]
        client.send("hello")
        assert json.loads(client.recv(timeout=10))["event"] == "error"


def test_a_gone_connection_is_forgotten_on_push(api: Any, gateway: LocalWebsocketApi) -> None:
    admin, _ = signup(api)
    ghost = "ghost-connection="
    room = keys.room_pk(admin.tenant_id, "tenant")
    Table().transact([put_op({"PK": room, "SK": ghost, "userId": admin.user_id, "events": ["order:update"]})])
    Table().transact(
        [
            put_op(
                {
                    "PK": keys.route_pk(keys.RouteKind.WS_CONNECTION, ghost),
                    "SK": keys.ROUTE_SK,
                    "tenantId": admin.tenant_id,
                    "userId": admin.user_id,
                }
            )
        ]
    )
    assert live.push(admin.tenant_id, "order:update", {"id": "x"}) == 0
    assert Table().get(room, ghost, consistent=True) is None


def test_disconnect_removes_the_connection(api: Any, gateway: LocalWebsocketApi) -> None:
    admin, _ = signup(api)
    with _open(gateway, admin):
        time.sleep(0.2)
        assert len(Table().query_page(keys.room_pk(admin.tenant_id, "tenant"), consistent=True).items) == 1
    deadline = time.monotonic() + 10
    while (
        Table().query_page(keys.room_pk(admin.tenant_id, "tenant"), consistent=True).items
        and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert Table().query_page(keys.room_pk(admin.tenant_id, "tenant"), consistent=True).items == []
