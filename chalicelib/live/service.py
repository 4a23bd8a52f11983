"""Live updates over API Gateway websockets.

A connection authenticates with ``?token=<access token>`` and joins two rooms: its tenant's and its user's.
Domain events reach ``push_event`` through an EventBridge rule and the live-updates queue; each becomes a
frame ``{"event": "order:update", "data": …}`` sent to the rooms it concerns. A connection API Gateway
reports gone (410) is forgotten; every connection item also expires after 2 hours, the longest a websocket
connection lives.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError
from pydantic import Field, ValidationError

from chalicelib.auth.tokens import verify_access_token
from chalicelib.core import aws
from chalicelib.core.batch import Job, consume
from chalicelib.core.config import get_settings
from chalicelib.core.db.store import Table
from chalicelib.core.errors import Unauthorized
from chalicelib.core.models import ApiModel
from chalicelib.core.observability import MetricUnit, logger, metrics
from chalicelib.core.resources import QueueKind
from chalicelib.live import store
from chalicelib.tenants import service as tenants
from chalicelib.users import service as users

__all__ = ["LIVE_EVENTS", "connect", "disconnect", "handle_message", "handle_queue_batch", "push", "push_event"]

TENANT_ROOM = "tenant"
# Domain event type (prefix) → the websocket event frontends listen to.
LIVE_EVENTS: tuple[tuple[str, str], ...] = (
    ("order.", "order:update"),
    ("appointment.", "appointment:update"),
    ("payment.", "payment:update"),
    ("notification.", "notification"),
    ("message.received", "message:new"),
)
_ALL_EVENTS = frozenset(name for _, name in LIVE_EVENTS)


class SubscribeMessage(ApiModel):
    """``{"action": "subscribe", "events": ["order:update"]}``: only these events reach this connection."""

    action: str = Field(pattern="^subscribe$")
    events: list[str] = Field(min_length=1, max_length=10)


def _user_room(user_id: str) -> str:
    return f"user-{user_id}"


def _rooms(user_id: str) -> tuple[str, str]:
    return TENANT_ROOM, _user_room(user_id)


def connect(connection_id: str, query: Mapping[str, str] | None) -> int:
    """Accept the connection (200) if it carries a valid access token of an active user, else 401."""
    token = (query or {}).get("token", "")
    try:
        claims = verify_access_token(token)
    except Unauthorized:
        return 401
    user = users.find_user(claims.tenant_id, claims.user_id)
    tenant = tenants.find_tenant(claims.tenant_id)
    if user is None or tenant is None or user.status != "active":
        return 401
    if tenant.status != "active":
        return 403
    connection = store.Connection(connection_id, user.tenant_id, user.id)
    Table().transact(store.join_ops(connection, _rooms(user.id), sorted(_ALL_EVENTS), route=True))
    logger.info("websocket connected", extra={"connection_id": connection_id, "tenant_id": user.tenant_id})
    return 200


def _forget(connection_id: str) -> None:
    connection = store.find_connection(connection_id)
    if connection is None:
        return
    Table().transact(store.forget_ops(connection, _rooms(connection.user_id)))


def disconnect(connection_id: str) -> None:
    """Forget the connection."""
    _forget(connection_id)


def handle_message(connection_id: str, body: str) -> None:
    """A frame from the client: ``subscribe`` narrows the events it gets; anything else gets an error frame."""
    connection = store.find_connection(connection_id)
    if connection is None:
        return
    try:
        message = SubscribeMessage.model_validate_json(body)
    except ValidationError:
        _send(connection_id, {"event": "error", "data": {"detail": 'send {"action": "subscribe", "events": [...]}'}})
        return
    wanted = sorted(set(message.events) & _ALL_EVENTS)
    Table().transact(store.join_ops(connection, _rooms(connection.user_id), wanted, route=False))
    _send(connection_id, {"event": "subscribed", "data": {"events": wanted}})


def _send(connection_id: str, frame: Mapping[str, Any]) -> bool:
    """Send one frame; False (and the connection forgotten) when API Gateway says it is gone."""
    endpoint = get_settings().websocket_management_url
    if not endpoint:
        return False
    try:
        aws.websocket_management(endpoint).post_to_connection(
            ConnectionId=connection_id, Data=json.dumps(frame, default=str).encode()
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("GoneException", "410"):
            _forget(connection_id)
            return False
        raise
    return True


def _listeners(tenant_id: str, rooms: Iterable[str], event: str) -> list[str]:
    # A connection in two of the rooms gets the frame once.
    return list(dict.fromkeys(c for room in rooms for c in store.listeners(tenant_id, room, event)))


def push(
    tenant_id: str,
    event: str,
    data: Mapping[str, Any],
    *,
    user_ids: Iterable[str] = (),
    whole_tenant: bool = True,
    event_id: str | None = None,
) -> int:
    """Send ``event`` once to every connection in the tenant's room and/or the rooms of ``user_ids``.

    ``event_id`` (the domain event's id) lets clients drop a frame delivered twice (delivery is at least once).
    """
    rooms = [*([TENANT_ROOM] if whole_tenant else []), *(_user_room(u) for u in user_ids)]
    frame = {"event": event, "id": event_id, "data": data} if event_id else {"event": event, "data": data}
    sent = sum(_send(c, frame) for c in _listeners(tenant_id, rooms, event))
    metrics.add_metric(name="LiveUpdatesPushed", unit=MetricUnit.Count, value=sent)
    return sent


def push_event(detail_type: str, detail: Mapping[str, Any]) -> int:
    """Turn a domain event (EventBridge detail) into a push to the tenant's room and its assignee's room."""
    name = next((live for prefix, live in LIVE_EVENTS if detail_type.startswith(prefix)), None)
    if name is None:
        return 0
    tenant_id = str(detail["tenantId"])
    data = {"type": detail_type, "id": detail.get("subject"), **dict(detail.get("data") or {})}
    assignee = (detail.get("data") or {}).get("assignedTo")
    user_ids = [str(assignee)] if assignee else []
    return push(tenant_id, name, data, user_ids=user_ids, event_id=str(detail.get("id") or "") or None)


def handle_queue_batch(raw_event: dict[str, Any]) -> dict[str, Any]:
    """The live-updates queue consumer: each record is an EventBridge envelope of a domain event."""

    def handle(job: Job) -> None:
        envelope = json.loads(job.body)
        push_event(str(envelope["detail-type"]), envelope["detail"])

    return consume(raw_event, handle, queue=QueueKind.LIVE_UPDATES)
