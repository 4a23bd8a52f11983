"""Webhook routes: the event catalog, endpoints, their delivery log, replay and test sends."""

from __future__ import annotations

from chalicelib.access.permissions import Module, Permission
from chalicelib.access.principal import Principal
from chalicelib.auth.guard import protected_blueprint
from chalicelib.core.pagination import Page, PageParams
from chalicelib.webhooks import service
from chalicelib.webhooks.models import (
    CreateEndpointRequest,
    Delivery,
    DeliveryListQuery,
    EndpointWithSecret,
    EventTypeList,
    UpdateEndpointRequest,
    WebhookEndpoint,
)

blueprint = protected_blueprint(__name__, tag="webhooks")

P = Permission.WEBHOOKS_MANAGE
M = Module.WEBHOOKS


@blueprint.operation("/webhook-event-types", response=EventTypeList, permission=P, module=M)
def list_event_types(principal: Principal) -> EventTypeList:
    """List the event types

    Every event an endpoint may subscribe to, with the JSON Schema of its data. A message is POSTed as
    `{"type", "timestamp", "subject", "data"}` with the Standard Webhooks headers webhook-id, webhook-timestamp and
    webhook-signature.
    """
    return service.list_event_types(principal)


@blueprint.operation("/webhook-endpoints", query=PageParams, response=Page[WebhookEndpoint], permission=P, module=M)
def list_endpoints(query: PageParams, principal: Principal) -> Page[WebhookEndpoint]:
    """List webhook endpoints

    Newest first.
    """
    return service.list_endpoints(principal, query)


@blueprint.operation(
    "/webhook-endpoints",
    "POST",
    body=CreateEndpointRequest,
    response=EndpointWithSecret,
    status=201,
    permission=P,
    module=M,
    idempotent=True,
    problems=(409,),
)
def create_endpoint(
    body: CreateEndpointRequest, principal: Principal, idempotency_key: str | None
) -> EndpointWithSecret:
    """Create a webhook endpoint

    The answer holds the endpoint's signing secret (whsec_…), shown only now. The URL must be https and resolve to
    public addresses. At most 20 endpoints per tenant (maxWebhookEndpoints).
    """
    return service.create_endpoint(principal, body, idempotency_key)


@blueprint.operation(
    "/webhook-endpoints/{endpoint_id}", response=WebhookEndpoint, permission=P, module=M, problems=(404,)
)
def get_endpoint(endpoint_id: str, principal: Principal) -> WebhookEndpoint:
    """Get a webhook endpoint"""
    return service.get_endpoint(principal, endpoint_id)


@blueprint.operation(
    "/webhook-endpoints/{endpoint_id}",
    "PATCH",
    body=UpdateEndpointRequest,
    response=WebhookEndpoint,
    permission=P,
    module=M,
    problems=(404, 409),
)
def update_endpoint(endpoint_id: str, body: UpdateEndpointRequest, principal: Principal) -> WebhookEndpoint:
    """Change a webhook endpoint

    URL, description, event types, rate limit, enabled; send the version you read. Enabling clears the reason
    BTRIX disabled it for.
    """
    return service.update_endpoint(principal, endpoint_id, body)


@blueprint.operation(
    "/webhook-endpoints/{endpoint_id}", "DELETE", status=204, permission=P, module=M, problems=(404, 409)
)
def delete_endpoint(endpoint_id: str, principal: Principal) -> None:
    """Delete a webhook endpoint"""
    service.delete_endpoint(principal, endpoint_id)


@blueprint.operation(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    "POST",
    response=EndpointWithSecret,
    permission=P,
    module=M,
    problems=(404, 409),
)
def rotate_secret(endpoint_id: str, principal: Principal) -> EndpointWithSecret:
    """Rotate the signing secret

    The new secret is shown only now. For 24 hours messages carry two signatures (new and previous secret), so
    the receiver can switch without missing any.
    """
    return service.rotate_secret(principal, endpoint_id)


@blueprint.operation(
    "/webhook-endpoints/{endpoint_id}/test",
    "POST",
    response=Delivery,
    status=202,
    permission=P,
    module=M,
    problems=(404, 409),
)
def send_test(endpoint_id: str, principal: Principal) -> Delivery:
    """Send a test message

    A webhook.test message, delivered and retried like any other; follow it in the delivery log.
    """
    return service.send_test(principal, endpoint_id)


@blueprint.operation(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    query=DeliveryListQuery,
    response=Page[Delivery],
    permission=P,
    module=M,
    problems=(404,),
)
def list_deliveries(endpoint_id: str, query: DeliveryListQuery, principal: Principal) -> Page[Delivery]:
    """List an endpoint's deliveries

    Newest first; each with its attempts: the request sent (URL, headers, first 2 KB of the body), the answer
    (status, first 2 KB of the body) or the error, the duration and the attempt number.
    """
    return service.list_deliveries(principal, endpoint_id, query)


@blueprint.operation(
    "/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}",
    response=Delivery,
    permission=P,
    module=M,
    problems=(404,),
)
def get_delivery(endpoint_id: str, delivery_id: str, principal: Principal) -> Delivery:
    """Get a delivery"""
    return service.get_delivery(principal, endpoint_id, delivery_id)


@blueprint.operation(
    "/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/replay",
    "POST",
    response=Delivery,
    status=202,
    permission=P,
    module=M,
    problems=(404, 409),
)
def replay_delivery(endpoint_id: str, delivery_id: str, principal: Principal) -> Delivery:
    """Replay a delivery

    Sends the message again now, as one more attempt with the same webhook-id (receivers deduplicate on it).
    """
    return service.replay_delivery(principal, endpoint_id, delivery_id)
