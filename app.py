"""BTRIX: the Chalice application. Wiring only: blueprints, middleware and event handlers that delegate."""

# ruff: noqa: E402
# (imports follow gc.disable(): the collector is paused for the whole import)
from __future__ import annotations

import gc

gc.disable()  # while app is imported: see core/capabilities.py (importing); imported() at the end resumes it

import importlib
from typing import Any

from chalice.app import Chalice, CloudWatchEvent, Rate, SQSEvent, WebsocketEvent

from chalicelib.core import capabilities, cors
from chalicelib.core.api import http_middleware
from chalicelib.core.resources import QueueKind, queue_name
from chalicelib.route_table import ROUTES

# Capabilities are imported when first needed, not here (core/capabilities.py): Chalice sees every route of the
# table now, and a route's capability is imported on its first request; the handlers below import their module
# when they first run. A new route is declared in its capability's routes module and listed in route_table.py.
app = Chalice(app_name="btrix")
app.experimental_feature_flags.update(["WEBSOCKETS"])
app.register_middleware(http_middleware, "http")
capabilities.serve_routes(app, ROUTES)


def _origin_allowed(origin: str) -> bool:
    from chalicelib.tenants import service as tenants_service

    return tenants_service.origin_allowed(origin)


# CORS preflights and public routes name no tenant: an origin is allowed when some tenant lists it (allowedOrigins).
cors.use_origin_lookup(_origin_allowed)


# Modules that register integration jobs (or, sales.paying, a payable kind) when imported.
_REGISTER_AT_IMPORT = (
    "chalicelib.delivery.ifood",  # its polls and status calls
    "chalicelib.delivery.rappi",  # its webhook jobs and status calls
    "chalicelib.erp.sync",
    "chalicelib.sales.calendar_events",
    "chalicelib.sales.invoicing",
    "chalicelib.sales.paying",  # makes sales payable (payments.payables)
    "chalicelib.shipping.tracking",
)


def _register_handlers() -> None:
    """What registers with the shared dispatchers, run before a dispatcher's first lookup (capabilities.load_later):
    every capability (their services register reference resolvers, payable kinds, provider probes, jobs) and the
    modules that register the integrations queue's jobs and the redrive restarts."""
    from chalicelib.analytics import conversions as analytics_conversions
    from chalicelib.assistant import followups as assistant_followups
    from chalicelib.billing import jobs as billing_jobs
    from chalicelib.conversations import redrive as conversations_redrive
    from chalicelib.finance import jobs as finance_jobs
    from chalicelib.notifications import redrive as notifications_redrive
    from chalicelib.payments import jobs as payment_jobs
    from chalicelib.tenants import usage_keys as tenant_usage_keys

    for module in _REGISTER_AT_IMPORT:
        importlib.import_module(module)
    capabilities.load_all_routes(ROUTES)  # privacy's jobs, for one, run on the integrations queue
    # What the integrations queue's consumer (below) runs for payments: the providers' webhooks, the payment-link
    # action; and for BTRIX's own subscription billing: the webhooks of its Stripe and MercadoPago billing accounts.
    payment_jobs.register_handlers()
    billing_jobs.register_handlers()
    # Income finance records from payments and paid sales (events the finance bus rule routes to that queue).
    finance_jobs.register_handlers()
    # Conversions sent to the tenants' GA4 streams and Meta Pixels (orders, payments, completed sales, leads).
    analytics_conversions.register_handlers()
    # Each tenant's API key in its plan's API Gateway usage plan, moved when the plan changes (the usage-keys bus rule).
    tenant_usage_keys.register_handlers()
    # A redrive (the commands, POST /platform/queues/{queue}/redrive) puts failed notifications and relay messages
    # back to be tried again before their dead messages go back to the queue.
    notifications_redrive.register()
    conversations_redrive.register()
    # The shop assistant's follow-ups: the reminder task its Step Functions timers queue.
    assistant_followups.register_handlers()


capabilities.load_later(_register_handlers)


@app.on_ws_connect()
def ws_connect(event: WebsocketEvent) -> dict[str, int]:
    """Websocket $connect: accepted only with a valid access token in ``?token=``."""
    from chalicelib.live import service as live

    query = event.to_dict().get("queryStringParameters")
    return {"statusCode": live.connect(event.connection_id, query)}


@app.on_ws_disconnect()
def ws_disconnect(event: WebsocketEvent) -> None:
    """Websocket $disconnect."""
    from chalicelib.live import service as live

    live.disconnect(event.connection_id)


@app.on_ws_message()
def ws_message(event: WebsocketEvent) -> None:
    """Websocket frames from clients (subscribe)."""
    from chalicelib.live import service as live

    live.handle_message(event.connection_id, event.body)


@app.on_sqs_message(queue=queue_name(QueueKind.LIVE_UPDATES), batch_size=10)
def live_updates(event: SQSEvent) -> dict[str, Any]:
    """Domain events routed to live updates → websocket pushes."""
    from chalicelib.live import service as live

    return live.handle_queue_batch(event.to_dict())


@app.on_sqs_message(queue=queue_name(QueueKind.WORKFLOW_TASKS), batch_size=10)
def workflow_tasks_consumer(event: SQSEvent) -> dict[str, Any]:
    """Park and timer tasks of the workflow state machines."""
    from chalicelib.workflows import tasks as workflow_tasks

    return workflow_tasks.handle_task_batch(event.to_dict())


@app.on_sqs_message(queue=queue_name(QueueKind.NOTIFICATIONS), batch_size=10)
def notifications_consumer(event: SQSEvent) -> dict[str, Any]:
    """Requested notifications and workflow notify actions → rendered and sent (retried with backoff, then DLQ)."""
    from chalicelib.notifications import delivery as notification_delivery

    return notification_delivery.handle_batch(event.to_dict())


@app.on_sqs_message(queue=queue_name(QueueKind.WEBHOOK_DELIVERIES), batch_size=10)
def webhook_fanout(event: SQSEvent) -> dict[str, Any]:
    """Domain events and workflow emit_webhook actions → one delivery per matching webhook endpoint."""
    from chalicelib.webhooks import delivery as webhook_delivery

    return webhook_delivery.handle_fanout_batch(event.to_dict())


@app.on_sqs_message(queue=queue_name(QueueKind.WEBHOOK_ATTEMPTS), batch_size=10)
def webhook_attempts(event: SQSEvent) -> dict[str, Any]:
    """Signed webhook attempts, each when it is due (retries on Svix's schedule)."""
    from chalicelib.webhooks import delivery as webhook_delivery

    return webhook_delivery.handle_attempt_batch(event.to_dict())


@app.on_sqs_message(queue=queue_name(QueueKind.INTEGRATIONS), batch_size=10)
def integrations_consumer(event: SQSEvent) -> dict[str, Any]:
    """Workflow actions (invoice, calendar event, payment link), provider webhooks and integration tasks → the
    handler registered for their kind (retried with backoff, then DLQ; failures in the integration's sync log)."""
    from chalicelib.integrations import jobs as integration_jobs

    return integration_jobs.handle_batch(event.to_dict())


@app.on_sqs_message(queue=queue_name(QueueKind.WHATSAPP_INBOUND), batch_size=10)
def conversation_jobs(event: SQSEvent) -> dict[str, Any]:
    """The gateway's conversation FIFO queue: WhatsApp messages → Bitrix24, statuses, sends to WhatsApp, and
    notifications sent from a number to keep in their conversation."""
    from chalicelib.conversations import worker as conversation_worker

    return conversation_worker.handle_conversation_batch(event.to_dict())


@app.on_sqs_message(queue=queue_name(QueueKind.BITRIX24_OUTBOUND), batch_size=10)
def bitrix24_events(event: SQSEvent) -> dict[str, Any]:
    """Bitrix24 events: app install/uninstall, and operators' Open Lines messages (→ send jobs)."""
    from chalicelib.conversations import worker as conversation_worker

    return conversation_worker.handle_bitrix_batch(event.to_dict())


@app.on_sqs_message(queue=queue_name(QueueKind.ANALYTICS), batch_size=100, maximum_batching_window_in_seconds=5)
def analytics_events(event: SQSEvent) -> dict[str, Any]:
    """Sale and lead events → the sales dashboard's per-tenant aggregates (each event once)."""
    from chalicelib.analytics import service as analytics_service

    return analytics_service.handle_batch(event.to_dict())


@app.on_sqs_message(queue=queue_name(QueueKind.EXPORTS), batch_size=1)
def export_jobs(event: SQSEvent) -> dict[str, Any]:
    """Export jobs: each message one slice (a few seconds of rows into the CSV file), which queues the next."""
    from chalicelib.exports import service as exports_service

    return exports_service.handle_batch(event.to_dict())


@app.schedule(Rate(15, unit=Rate.MINUTES))
def billy_payment_poll(event: CloudWatchEvent) -> dict[str, int]:
    """Every tenant connected to Billy.dk gets a payment poll job: sales whose invoice was paid are marked paid."""
    from chalicelib.sales import invoicing as sale_invoicing

    return {"queued": sale_invoicing.queue_payment_polls()}


@app.schedule(Rate(30, unit=Rate.MINUTES))
def shipping_tracking(event: CloudWatchEvent) -> dict[str, int]:
    """Every tenant with a connected shipping provider gets a tracking job: labels posted or delivered move their
    orders (shipped, delivered) and the customer is told."""
    from chalicelib.shipping import tracking as shipping_tracking_jobs

    return {"queued": shipping_tracking_jobs.queue_tracking()}


@app.schedule(Rate(1, unit=Rate.MINUTES))
def ifood_poll(event: CloudWatchEvent) -> dict[str, int]:
    """Every tenant connected to iFood gets two event polls a minute (iFood asks for one every 30 s): its orders
    arrive, its cancellations cancel them."""
    from chalicelib.delivery import ifood as delivery_ifood

    return {"queued": delivery_ifood.queue_polls()}


@app.schedule(Rate(1, unit=Rate.MINUTES))
def rappi_recovery_poll(event: CloudWatchEvent) -> dict[str, int]:
    """Every tenant connected to Rappi gets a recovery poll a minute: orders whose webhook never came (Rappi gave up,
    our function was down) arrive, in time to take them within Rappi's 4 minutes."""
    from chalicelib.delivery import rappi as delivery_rappi

    return {"queued": delivery_rappi.queue_polls()}


@app.schedule(Rate(15, unit=Rate.MINUTES))
def erp_stock_pull(event: CloudWatchEvent) -> dict[str, int]:
    """Every tenant connected to an ERP (Bling, Tiny) gets a stock pull job: its stock against BTRIX's, per the source
    of truth."""
    from chalicelib.erp import sync as erp_sync

    return {"queued": erp_sync.queue_stock_pulls()}


@app.schedule(Rate(5, unit=Rate.MINUTES))
def bitrix24_token_refresh(event: CloudWatchEvent) -> dict[str, int]:
    """Bitrix24 portals whose access token expires within 15 minutes get a new one (idle portals stay connected)."""
    from chalicelib.channels import tokens as channel_tokens

    return {"refreshed": channel_tokens.refresh_due_tokens()}


@app.schedule(Rate(1, unit=Rate.HOURS))
def billing_grace_expiry(event: CloudWatchEvent) -> dict[str, int]:
    """Tenants whose subscription stayed unpaid past its grace period are suspended (read from the sparse list of
    past-due subscriptions that are due, never the whole table)."""
    from chalicelib.billing import lifecycle as billing_lifecycle

    return {"suspended": billing_lifecycle.suspend_overdue()}


capabilities.imported()  # app is imported: freeze what that made, resume the collector
