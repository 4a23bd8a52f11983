"""Webhook use cases: the event catalog, endpoints (CRUD, secret rotation), the delivery log, replay and test sends.

Other capabilities do not call this module to send webhooks: their domain events reach the endpoints through the
outbox, the bus and ``webhooks.delivery``.

One responsibility: the use cases behind the webhook routes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.core import clock, idempotency
from chalicelib.core.crypto import decrypt_field, encrypt_field
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, TransactionConflict, VersionConflict
from chalicelib.core.errors import Conflict, FieldError, InvalidInput, LimitExceeded, NotFound
from chalicelib.core.ids import new_id
from chalicelib.core.models import ApiModel
from chalicelib.core.pagination import Page, PageParams, paginate
from chalicelib.webhooks import delivery, signing, store
from chalicelib.webhooks.event_types import WEBHOOK_TEST, WebhookTestData, event_types, validate_filters
from chalicelib.webhooks.models import (
    AttemptMessage,
    CreateEndpointRequest,
    Delivery,
    DeliveryRecord,
    EndpointRecord,
    EndpointWithSecret,
    EventTypeInfo,
    EventTypeList,
    OutgoingMessage,
    UpdateEndpointRequest,
    WebhookEndpoint,
)
from chalicelib.webhooks.targets import TargetRefused, check_url, loopback_allowed

__all__ = [
    "SECRET_OVERLAP",
    "create_endpoint",
    "delete_endpoint",
    "get_delivery",
    "get_endpoint",
    "list_deliveries",
    "list_endpoints",
    "list_event_types",
    "replay_delivery",
    "rotate_secret",
    "send_test",
    "update_endpoint",
]

# After a rotation both secrets sign for a day, so receivers can switch to the new one without losing messages.
SECRET_OVERLAP = timedelta(hours=24)
# A pending delivery whose attempt is this overdue lost its queue message (a crash between write and send):
# a replay queues it again.
_STUCK_AFTER = timedelta(seconds=60)


class _Created(ApiModel):
    """What an idempotent create records: the endpoint and its secret, encrypted (never in clear in the table)."""

    endpoint: WebhookEndpoint
    secret_encrypted: str


def _checked_url(url: str, field: str) -> str:
    try:
        return check_url(url, allow_loopback=loopback_allowed())
    except TargetRefused as exc:
        raise InvalidInput(
            detail=f"the URL is refused: {exc}", errors=(FieldError(field, str(exc), "refused-url"),)
        ) from exc


def _load(principal: Principal, endpoint_id: str, *, consistent: bool = False) -> EndpointRecord:
    record = store.get_endpoint(principal.tenant_id, endpoint_id, consistent=consistent)
    if record is None:
        raise NotFound(detail=f"no webhook endpoint {endpoint_id}")
    return record


def _load_delivery(principal: Principal, endpoint_id: str, delivery_id: str) -> DeliveryRecord:
    record = store.get_delivery(principal.tenant_id, endpoint_id, delivery_id, consistent=True)
    if record is None:
        raise NotFound(detail=f"no delivery {delivery_id} for webhook endpoint {endpoint_id}")
    return record


def list_event_types(principal: Principal) -> EventTypeList:
    """The event catalog: every type an endpoint may subscribe to, with the JSON Schema of its data."""
    require(principal, Permission.WEBHOOKS_MANAGE)
    return EventTypeList(
        items=[
            EventTypeInfo(
                type=d.name,
                description=d.description,
                origin=d.origin,
                data_schema=d.data.model_json_schema(by_alias=True, mode="serialization"),
            )
            for d in event_types()
        ]
    )


def list_endpoints(principal: Principal, query: PageParams) -> Page[WebhookEndpoint]:
    """One page of the tenant's webhook endpoints, newest first."""
    require(principal, Permission.WEBHOOKS_MANAGE)
    tenant = principal.tenant_id
    return paginate(
        Page[WebhookEndpoint],
        query,
        tenant_id=tenant,
        scope="webhook-endpoints",
        fetch=lambda start: store.list_endpoints(tenant, query.limit, start),
        convert=WebhookEndpoint.of,
    )


def get_endpoint(principal: Principal, endpoint_id: str) -> WebhookEndpoint:
    """One webhook endpoint (without its secret)."""
    require(principal, Permission.WEBHOOKS_MANAGE)
    return WebhookEndpoint.of(_load(principal, endpoint_id))


def _with_secret(endpoint: WebhookEndpoint, secret: str) -> EndpointWithSecret:
    return EndpointWithSecret.model_validate({**endpoint.model_dump(), "secret": secret})


def create_endpoint(
    principal: Principal, body: CreateEndpointRequest, idempotency_key: str | None
) -> EndpointWithSecret:
    """Add a webhook endpoint; the answer carries its signing secret, which is never shown again."""
    require(principal, Permission.WEBHOOKS_MANAGE)
    created = idempotency.once(
        principal.tenant_id,
        idempotency_key,
        "webhook-endpoints.create",
        body,
        _Created,
        lambda seal: _create(principal, body, seal),
    )
    return _with_secret(created.endpoint, decrypt_field(principal.tenant_id, created.secret_encrypted))


def _create(principal: Principal, body: CreateEndpointRequest, seal: idempotency.Seal) -> _Created:
    tenant = principal.tenant_id
    url = _checked_url(body.url, "body.url")
    filters = validate_filters(body.event_types)
    now = clock.now_iso()
    record = EndpointRecord(
        id=new_id(),
        tenant_id=tenant,
        url=url,
        description=body.description,
        event_types=filters,
        enabled=body.enabled,
        rate_limit=body.rate_limit,
        secret_encrypted=encrypt_field(tenant, signing.new_secret()),
        disabled_reason=None if body.enabled else "manual",
        disabled_at=None if body.enabled else now,
        created_at=now,
        updated_at=now,
    )
    view = WebhookEndpoint.of(record)
    created = _Created(endpoint=view, secret_encrypted=record.secret_encrypted)
    at_limit = LimitExceeded(
        detail=f"a tenant has at most {store.MAX_ENDPOINTS} webhook endpoints (maxWebhookEndpoints)",
        limit="maxWebhookEndpoints",
    )
    ops = [
        *store.new_endpoint_ops(record, at_limit=at_limit),
        audit_op(principal, "webhook_endpoint.created", Kind.WEBHOOK_ENDPOINT, record.id, after=view.model_dump()),
        *seal(created),
    ]
    Table().transact(ops)
    return created


def _apply(
    principal: Principal,
    record: EndpointRecord,
    changes: dict[str, Any],
    remove: list[str],
    action: str,
    *,
    audited: dict[str, Any] | None = None,
) -> EndpointRecord:
    changes = {**changes, "updatedAt": clock.now_iso()}
    after = EndpointRecord.model_validate(
        {**record.model_dump(), **changes, **dict.fromkeys(remove), "version": record.version + 1}
    )
    before_view, after_view = WebhookEndpoint.of(record).model_dump(), WebhookEndpoint.of(after).model_dump()
    changed = VersionConflict(detail="the webhook endpoint changed since you read it; reload and retry")
    Table().transact(
        [
            store.update_endpoint_op(record, changes, remove).on_conflict(changed),
            audit_op(
                principal,
                action,
                Kind.WEBHOOK_ENDPOINT,
                record.id,
                before=before_view if audited is None else None,
                after=after_view if audited is None else audited,
            ),
        ]
    )
    return after


def update_endpoint(principal: Principal, endpoint_id: str, body: UpdateEndpointRequest) -> WebhookEndpoint:
    """Change an endpoint's URL, description, filters, rate or state (optimistic locking on ``version``).

    Enabling an endpoint BTRIX disabled starts it afresh (its failure streak forgotten); messages that failed while
    it was disabled can be replayed.
    """
    require(principal, Permission.WEBHOOKS_MANAGE)
    record = _load(principal, endpoint_id, consistent=True)
    if record.version != body.version:
        raise VersionConflict(detail=f"the webhook endpoint is at version {record.version}; reload and retry")
    sent = body.model_fields_set
    changes: dict[str, Any] = {}
    remove: list[str] = []
    if "url" in sent and body.url is not None:
        changes["url"] = _checked_url(body.url, "body.url")
    if "description" in sent and body.description is not None:
        changes["description"] = body.description
    if "event_types" in sent and body.event_types is not None:
        changes["eventTypes"] = validate_filters(body.event_types)
    if "rate_limit" in sent:
        if body.rate_limit is None:
            remove.append("rateLimit")
        else:
            changes["rateLimit"] = body.rate_limit
    if "enabled" in sent and body.enabled is not None and body.enabled != record.enabled:
        if body.enabled:
            changes["enabled"] = True
            remove.extend(["disabledReason", "disabledAt", "failingSince"])
        else:
            changes.update({"enabled": False, "disabledReason": "manual", "disabledAt": clock.now_iso()})
    return WebhookEndpoint.of(_apply(principal, record, changes, remove, "webhook_endpoint.updated"))


def delete_endpoint(principal: Principal, endpoint_id: str) -> None:
    """Delete an endpoint: nothing more is sent to it; its delivery log expires with its retention."""
    require(principal, Permission.WEBHOOKS_MANAGE)
    record = _load(principal, endpoint_id, consistent=True)
    try:
        Table().transact(
            [
                *store.delete_endpoint_ops(record),
                audit_op(
                    principal,
                    "webhook_endpoint.deleted",
                    Kind.WEBHOOK_ENDPOINT,
                    endpoint_id,
                    before=WebhookEndpoint.of(record).model_dump(),
                ),
            ]
        )
    except TransactionConflict as exc:
        raise Conflict(detail="the webhook endpoint changed while it was being deleted; retry") from exc


def rotate_secret(principal: Principal, endpoint_id: str) -> EndpointWithSecret:
    """Give the endpoint a new signing secret (shown once); the previous one keeps signing for 24 hours."""
    require(principal, Permission.WEBHOOKS_MANAGE)
    record = _load(principal, endpoint_id, consistent=True)
    secret = signing.new_secret()
    now = clock.now()
    overlap_until = clock.isoformat(now + SECRET_OVERLAP)
    changes = {
        "secretEncrypted": encrypt_field(principal.tenant_id, secret),
        "previousSecretEncrypted": record.secret_encrypted,
        "previousSecretExpiresAt": overlap_until,
        "secretRotatedAt": clock.isoformat(now),
    }
    after = _apply(
        principal,
        record,
        changes,
        [],
        "webhook_endpoint.secret_rotated",
        audited={"secretRotatedAt": changes["secretRotatedAt"], "previousSecretExpiresAt": overlap_until},
    )
    return _with_secret(WebhookEndpoint.of(after), secret)


def list_deliveries(principal: Principal, endpoint_id: str, query: PageParams) -> Page[Delivery]:
    """One page of the endpoint's deliveries, newest first, with their attempts."""
    require(principal, Permission.WEBHOOKS_MANAGE)
    _load(principal, endpoint_id)
    tenant = principal.tenant_id
    return paginate(
        Page[Delivery],
        query,
        tenant_id=tenant,
        scope=f"webhook-deliveries:{endpoint_id}",
        fetch=lambda start: store.list_deliveries(tenant, endpoint_id, query.limit, start),
        convert=Delivery.of,
    )


def get_delivery(principal: Principal, endpoint_id: str, delivery_id: str) -> Delivery:
    """One delivery of an endpoint, with its attempts."""
    require(principal, Permission.WEBHOOKS_MANAGE)
    return Delivery.of(_load_delivery(principal, endpoint_id, delivery_id))


def _enabled(record: EndpointRecord) -> None:
    if not record.enabled:
        raise Conflict(
            detail="the webhook endpoint is disabled; enable it first",
            errors=(FieldError("path.endpoint_id", "disabled", "endpoint-disabled"),),
        )


def _attempt_now(record: DeliveryRecord, attempt: int) -> AttemptMessage:
    return AttemptMessage(
        tenant_id=record.tenant_id,
        endpoint_id=record.endpoint_id,
        delivery_id=record.id,
        attempt=attempt,
        due_at=clock.now().timestamp(),
    )


def replay_delivery(principal: Principal, endpoint_id: str, delivery_id: str) -> Delivery:
    """Send a delivered or failed message again, now: one more attempt, same webhook-id, signed afresh."""
    require(principal, Permission.WEBHOOKS_MANAGE)
    _enabled(_load(principal, endpoint_id))
    record = _load_delivery(principal, endpoint_id, delivery_id)
    now = clock.now()
    if record.status == "pending" and record.next_attempt is not None:
        due = record.next_attempt_at
        leased = record.lease_until is not None and record.lease_until >= clock.to_epoch(now)
        stuck = due is not None and due < clock.isoformat(now - _STUCK_AFTER) and not leased
        if not stuck:
            raise Conflict(detail="the message is still being delivered; replay it once it succeeded or failed")
        delivery.enqueue([_attempt_now(record, record.next_attempt)])
        return Delivery.of(record)
    number = record.attempt_count + 1
    changes: dict[str, Any] = {
        "status": "pending",
        "nextAttempt": number,
        "nextAttemptAt": clock.isoformat(now),
        "finalAttempt": number,
        "nextTrigger": "replay",
        "failureReason": None,
        "updatedAt": clock.isoformat(now),
    }
    changed = Conflict(detail="the delivery changed meanwhile (replayed twice?); reload and retry")
    Table().transact(
        [
            store.delivery_update_op(record, changes, status_was=record.status).on_conflict(changed),
            audit_op(
                principal,
                "webhook_delivery.replayed",
                Kind.WEBHOOK_ENDPOINT,
                endpoint_id,
                after={"deliveryId": delivery_id, "attempt": number},
            ),
        ]
    )
    after = DeliveryRecord.model_validate({**record.model_dump(), **changes})
    delivery.enqueue([_attempt_now(after, number)])
    return Delivery.of(after)


def send_test(principal: Principal, endpoint_id: str) -> Delivery:
    """Send a ``webhook.test`` message to the endpoint now (whatever its filters), like any other delivery."""
    require(principal, Permission.WEBHOOKS_MANAGE)
    endpoint = _load(principal, endpoint_id)
    _enabled(endpoint)
    moment = clock.now()
    data = WebhookTestData(endpoint_id=endpoint.id, message="A test message from BTRIX.")
    message = OutgoingMessage(
        id=new_id(moment),
        type=WEBHOOK_TEST,
        tenant_id=principal.tenant_id,
        occurred_at=clock.isoformat(moment),
        subject=endpoint.id,
        data=data.model_dump(mode="json", by_alias=True),
    )
    record = delivery.new_delivery(endpoint, message, delivery.payload_of(message))
    Table().transact(
        [
            store.new_delivery_op(record),
            audit_op(
                principal,
                "webhook_endpoint.tested",
                Kind.WEBHOOK_ENDPOINT,
                endpoint_id,
                after={"deliveryId": record.id},
            ),
        ]
    )
    delivery.enqueue([_attempt_now(record, 1)])
    return Delivery.of(record)
