"""BTRIX: the Chalice application. Wiring only: blueprints, middleware and event handlers that delegate."""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice, CloudWatchEvent, Rate, SQSEvent, WebsocketEvent

from chalicelib.access.routes import blueprint as access
from chalicelib.analytics import conversions as analytics_conversions
from chalicelib.analytics import service as analytics_service
from chalicelib.analytics.routes import blueprint as analytics
from chalicelib.appointments.routes import blueprint as appointments
from chalicelib.assistant import followups as assistant_followups
from chalicelib.assistant.routes import blueprint as assistant
from chalicelib.audit.routes import blueprint as audit
from chalicelib.auth.routes import blueprint as auth
from chalicelib.billing import jobs as billing_jobs
from chalicelib.billing import lifecycle as billing_lifecycle
from chalicelib.billing.routes import blueprint as billing
from chalicelib.catalog.routes import blueprint as catalog
from chalicelib.channels import tokens as channel_tokens
from chalicelib.channels.routes import blueprint as channels
from chalicelib.conversations import redrive as conversations_redrive
from chalicelib.conversations import worker as conversation_worker
from chalicelib.conversations.routes import blueprint as conversations
from chalicelib.core import cors
from chalicelib.core.api import http_middleware
from chalicelib.core.resources import QueueKind, queue_name
from chalicelib.customers.routes import blueprint as customers
from chalicelib.delivery import ifood as delivery_ifood  # registers its integration jobs (polls, status calls)
from chalicelib.delivery import rappi as delivery_rappi  # noqa: F401 - registers its webhook jobs and status calls
from chalicelib.docs.routes import blueprint as docs
from chalicelib.erp import sync as erp_sync  # registers its integration jobs
from chalicelib.exports import service as exports_service
from chalicelib.exports.routes import blueprint as exports
from chalicelib.finance import jobs as finance_jobs
from chalicelib.finance.routes import blueprint as finance
from chalicelib.health.routes import blueprint as health
from chalicelib.integrations import jobs as integration_jobs
from chalicelib.integrations.routes import blueprint as integrations
from chalicelib.inventory.routes import blueprint as inventory
from chalicelib.leads.routes import blueprint as leads
from chalicelib.live import service as live
from chalicelib.marketplace.routes import blueprint as marketplace
from chalicelib.notifications import delivery as notification_delivery
from chalicelib.notifications import redrive as notifications_redrive
from chalicelib.notifications.routes import blueprint as notifications
from chalicelib.operations.routes import blueprint as operations
from chalicelib.orders.routes import blueprint as orders
from chalicelib.payments import jobs as payment_jobs
from chalicelib.payments.routes import blueprint as payments
from chalicelib.plans.routes import blueprint as plans
from chalicelib.privacy.routes import blueprint as privacy  # its jobs run on the integrations queue
from chalicelib.sales import calendar_events  # noqa: F401 - registers its integration jobs
from chalicelib.sales import invoicing as sale_invoicing  # registers its integration jobs
from chalicelib.sales import paying as sale_paying  # noqa: F401 - makes sales payable (payments.payables)
from chalicelib.sales.routes import blueprint as sales
from chalicelib.shipping import tracking as shipping_tracking_jobs
from chalicelib.shipping.routes import blueprint as shipping
from chalicelib.tenants import service as tenants_service
from chalicelib.tenants import usage_keys as tenant_usage_keys
from chalicelib.tenants.routes import blueprint as tenants
from chalicelib.translations.routes import blueprint as translations
from chalicelib.users.routes import blueprint as users
from chalicelib.webhooks import delivery as webhook_delivery
from chalicelib.webhooks.routes import blueprint as webhooks
from chalicelib.workflows import tasks as workflow_tasks
from chalicelib.workflows.routes import blueprint as workflows

app = Chalice(app_name="btrix")
app.experimental_feature_flags.update(["WEBSOCKETS"])
app.register_middleware(http_middleware, "http")
# CORS preflights and public routes name no tenant: an origin is allowed when some tenant lists it (allowedOrigins).
cors.use_origin_lookup(tenants_service.origin_allowed)
for blueprint in (
    health,
    docs,
    auth,
    access,
    plans,
    tenants,
    billing,
    users,
    audit,
    workflows,
    translations,
    catalog,
    inventory,
    customers,
    orders,
    payments,
    shipping,
    appointments,
    webhooks,
    notifications,
    integrations,
    channels,
    conversations,
    assistant,
    sales,
    leads,
    analytics,
    exports,
    marketplace,
    finance,
    operations,
    privacy,
):
    app.register_blueprint(blueprint)

# What the integrations queue's consumer (below) runs for payments: the providers' webhooks, the payment-link action.
payment_jobs.register_handlers()
# ... and for BTRIX's own subscription billing: the webhooks of its Stripe and MercadoPago billing accounts.
billing_jobs.register_handlers()
# Income finance records from payments and paid sales (events the finance bus rule routes to that queue).
finance_jobs.register_handlers()
# Conversions sent to the tenants' GA4 streams and Meta Pixels (orders, payments, completed sales, leads).
analytics_conversions.register_handlers()
# Each tenant's API key in its plan's API Gateway usage plan, moved when the plan changes (the usage-keys bus rule).
tenant_usage_keys.register_handlers()
# A redrive (the commands, POST /platform/queues/{queue}/redrive) puts failed notifications and relay messages back
# to be tried again before their dead messages go back to the queue.
notifications_redrive.register()
conversations_redrive.register()
# The shop assistant's follow-ups: the reminder task its Step Functions timers queue.
assistant_followups.register_handlers()


@app.on_ws_connect()
def ws_connect(event: WebsocketEvent) -> dict[str, int]:
    """Websocket $connect: accepted only with a valid access token in ``?token=``."""
    query = event.to_dict().get("queryStringParameters")
    return {"statusCode": live.connect(event.connection_id, query)}


@app.on_ws_disconnect()
def ws_disconnect(event: WebsocketEvent) -> None:
    """Websocket $disconnect."""
    live.disconnect(event.connection_id)


@app.on_ws_message()
def ws_message(event: WebsocketEvent) -> None:
    """Websocket frames from clients (subscribe)."""
    live.handle_message(event.connection_id, event.body)


@app.on_sqs_message(queue=queue_name(QueueKind.LIVE_UPDATES), batch_size=10)
def live_updates(event: SQSEvent) -> dict[str, Any]:
    """Domain events routed to live updates → websocket pushes."""
    return live.handle_queue_batch(event.to_dict())


@app.on_sqs_message(queue=queue_name(QueueKind.WORKFLOW_TASKS), batch_size=10)
def workflow_tasks_consumer(event: SQSEvent) -> dict[str, Any]:
    """Park and timer tasks of the workflow state machines."""
    return workflow_tasks.handle_task_batch(event.to_dict())


@app.on_sqs_message(queue=queue_name(QueueKind.NOTIFICATIONS), batch_size=10)
def notifications_consumer(event: SQSEvent) -> dict[str, Any]:
    """Requested notifications and workflow notify actions → rendered and sent (retried with backoff, then DLQ)."""
    return notification_delivery.handle_batch(event.to_dict())


@app.on_sqs_message(queue=queue_name(QueueKind.WEBHOOK_DELIVERIES), batch_size=10)
def webhook_fanout(event: SQSEvent) -> dict[str, Any]:
    """Domain events and workflow emit_webhook actions → one delivery per matching webhook endpoint."""
    return webhook_delivery.handle_fanout_batch(event.to_dict())


@app.on_sqs_message(queue=queue_name(QueueKind.WEBHOOK_ATTEMPTS), batch_size=10)
def webhook_attempts(event: SQSEvent) -> dict[str, Any]:
    """Signed webhook attempts, each when it is due (retries on Svix's schedule)."""
    return webhook_delivery.handle_attempt_batch(event.to_dict())


@app.on_sqs_message(queue=queue_name(QueueKind.INTEGRATIONS), batch_size=10)
def integrations_consumer(event: SQSEvent) -> dict[str, Any]:
    """Workflow actions (invoice, calendar event, payment link), provider webhooks and integration tasks → the
    handler registered for their kind (retried with backoff, then DLQ; failures in the integration's sync log)."""
    return integration_jobs.handle_batch(event.to_dict())


@app.on_sqs_message(queue=queue_name(QueueKind.WHATSAPP_INBOUND), batch_size=10)
def conversation_jobs(event: SQSEvent) -> dict[str, Any]:
    """The gateway's conversation FIFO queue: WhatsApp messages → Bitrix24, statuses, sends to WhatsApp, and
    notifications sent from a number to keep in their conversation."""
    return conversation_worker.handle_conversation_batch(event.to_dict())


@app.on_sqs_message(queue=queue_name(QueueKind.BITRIX24_OUTBOUND), batch_size=10)
def bitrix24_events(event: SQSEvent) -> dict[str, Any]:
    """Bitrix24 events: app install/uninstall, and operators' Open Lines messages (→ send jobs)."""
    return conversation_worker.handle_bitrix_batch(event.to_dict())


@app.on_sqs_message(queue=queue_name(QueueKind.ANALYTICS), batch_size=100, maximum_batching_window_in_seconds=5)
def analytics_events(event: SQSEvent) -> dict[str, Any]:
    """Sale and lead events → the sales dashboard's per-tenant aggregates (each event once)."""
    return analytics_service.handle_batch(event.to_dict())


@app.on_sqs_message(queue=queue_name(QueueKind.EXPORTS), batch_size=1)
def export_jobs(event: SQSEvent) -> dict[str, Any]:
    """Export jobs: each message one slice (a few seconds of rows into the CSV file), which queues the next."""
    return exports_service.handle_batch(event.to_dict())


@app.schedule(Rate(15, unit=Rate.MINUTES))
def billy_payment_poll(event: CloudWatchEvent) -> dict[str, int]:
    """Every tenant connected to Billy.dk gets a payment poll job: sales whose invoice was paid are marked paid."""
    return {"queued": sale_invoicing.queue_payment_polls()}


@app.schedule(Rate(30, unit=Rate.MINUTES))
def shipping_tracking(event: CloudWatchEvent) -> dict[str, int]:
    """Every tenant with a connected shipping provider gets a tracking job: labels posted or delivered move their
    orders (shipped, delivered) and the customer is told."""
    return {"queued": shipping_tracking_jobs.queue_tracking()}


@app.schedule(Rate(1, unit=Rate.MINUTES))
def ifood_poll(event: CloudWatchEvent) -> dict[str, int]:
    """Every tenant connected to iFood gets two event polls a minute (iFood asks for one every 30 s): its orders
    arrive, its cancellations cancel them."""
    return {"queued": delivery_ifood.queue_polls()}


@app.schedule(Rate(15, unit=Rate.MINUTES))
def erp_stock_pull(event: CloudWatchEvent) -> dict[str, int]:
    """Every tenant connected to an ERP (Bling, Tiny) gets a stock pull job: its stock against BTRIX's, per the source
    of truth."""
    return {"queued": erp_sync.queue_stock_pulls()}


@app.schedule(Rate(5, unit=Rate.MINUTES))
def bitrix24_token_refresh(event: CloudWatchEvent) -> dict[str, int]:
    """Bitrix24 portals whose access token expires within 15 minutes get a new one (idle portals stay connected)."""
    return {"refreshed": channel_tokens.refresh_due_tokens()}


@app.schedule(Rate(1, unit=Rate.HOURS))
def billing_grace_expiry(event: CloudWatchEvent) -> dict[str, int]:
    """Tenants whose subscription stayed unpaid past its grace period are suspended (read from the sparse list of
    past-due subscriptions that are due, never the whole table)."""
    return {"suspended": billing_lifecycle.suspend_overdue()}
