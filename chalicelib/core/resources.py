"""The AWS resources besides the table: job queues (each with a DLQ), the event bus, the KMS key, secrets.

One definition, read by the application (names), the local stack (provisioning) and infra (CDK).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from chalicelib.core import aws
from chalicelib.core.config import get_settings

__all__ = [
    "BITRIX24_APP_CREDENTIALS",
    "BLING_OAUTH_APP",
    "CURSOR_SIGNING_KEY",
    "EXPORT_DAYS",
    "EXPORT_TAG",
    "GOOGLE_OAUTH_APP",
    "INBOUND_EMAIL_SECRET",
    "JWT_SIGNING_KEYS",
    "LOOKUP_HASH_KEY",
    "MELHORENVIO_OAUTH_APP",
    "MERCADOPAGO_BILLING_CREDENTIALS",
    "MERCADOPAGO_WEBHOOK_SECRET",
    "META_APP_SECRET",
    "META_VERIFY_TOKEN",
    "META_WHATSAPP_CREDENTIALS",
    "OAUTH_STATE_KEY",
    "PAGARME_WEBHOOK_SECRET",
    "QUEUES",
    "RULES",
    "SECRETS",
    "SMTP_CREDENTIALS",
    "STRIPE_BILLING_CREDENTIALS",
    "STRIPE_WEBHOOK_SECRET",
    "TWILIO_CREDENTIALS",
    "WEBHOOK_SECRETS",
    "WEB_PUSH_KEY",
    "QueueDef",
    "QueueKind",
    "RuleDef",
    "SecretDef",
    "dlq_name",
    "kms_alias",
    "queue_name",
    "queue_url",
    "rule_name",
    "secret_name",
]


# Export files carry this tag (key, value); the file bucket's lifecycle rule expires them after EXPORT_DAYS.
EXPORT_TAG = ("btrix-kind", "export")
EXPORT_DAYS = 7


class QueueKind(StrEnum):
    """The job queues."""

    NOTIFICATIONS = "notifications"
    INTEGRATIONS = "integrations"
    WEBHOOK_DELIVERIES = "webhook-deliveries"
    WEBHOOK_ATTEMPTS = "webhook-attempts"
    WORKFLOW_TASKS = "workflow-tasks"
    WHATSAPP_INBOUND = "whatsapp-inbound"
    BITRIX24_OUTBOUND = "bitrix24-outbound"
    LIVE_UPDATES = "live-updates"
    ANALYTICS = "analytics"
    EXPORTS = "exports"


@dataclass(frozen=True)
class QueueDef:
    """A job queue and its dead-letter queue.

    ``max_concurrency`` is the most Lambda invocations its SQS event source runs at once (``ScalingConfig``,
    2 to 1 000): what it may take of the account's concurrency and of the table's and providers' capacity.
    ``reserved_concurrency`` (None: none) also reserves that much for its consumer, where a provider's rate limit
    rather than our capacity bounds it (infra applies it in stages that reserve, ``StageConfig``).
    """

    kind: QueueKind
    fifo: bool = False
    visibility_timeout_s: int = 60
    max_receive_count: int = 5
    retention_s: int = 4 * 24 * 3600
    dlq_retention_s: int = 14 * 24 * 3600
    max_concurrency: int = 50
    reserved_concurrency: int | None = None


QUEUES: tuple[QueueDef, ...] = (
    # SES sends at the account's rate (14 emails/s until raised): five concurrent senders keep under it, and the
    # reservation keeps them from being starved by a burst elsewhere.
    QueueDef(QueueKind.NOTIFICATIONS, max_concurrency=5, reserved_concurrency=5),
    QueueDef(QueueKind.INTEGRATIONS, visibility_timeout_s=120),
    # Events to fan out to the tenants' webhook endpoints (the bus rule below, and workflow emit_webhook actions).
    QueueDef(QueueKind.WEBHOOK_DELIVERIES, visibility_timeout_s=60, max_receive_count=8, max_concurrency=100),
    # One message per attempt of one delivery, delayed until it is due; receivers' failures are retried by the
    # webhooks' own schedule (not by SQS), so only infrastructure failures ever reach the DLQ.
    QueueDef(QueueKind.WEBHOOK_ATTEMPTS, visibility_timeout_s=60, max_receive_count=5, max_concurrency=100),
    QueueDef(QueueKind.WORKFLOW_TASKS, max_concurrency=100),
    # The gateway's conversation queue: WhatsApp messages and statuses and the send jobs of operators and agents.
    # FIFO: group = conversation, dedup = message id, so one chat is relayed in order, once, in both directions.
    # The relay counts a message's attempts itself (BTRIX_RELAY_MAX_ATTEMPTS): the receive count is a safety net.
    # In high-throughput mode (infra): one invocation per active conversation, up to max_concurrency.
    QueueDef(
        QueueKind.WHATSAPP_INBOUND, fifo=True, visibility_timeout_s=120, max_receive_count=20, max_concurrency=1000
    ),
    # Bitrix24 events, FIFO per portal chat: an operator's messages keep their order.
    QueueDef(
        QueueKind.BITRIX24_OUTBOUND, fifo=True, visibility_timeout_s=120, max_receive_count=20, max_concurrency=200
    ),
    # Pushes are worth little once stale: kept one hour, retried twice.
    QueueDef(QueueKind.LIVE_UPDATES, visibility_timeout_s=30, max_receive_count=3, retention_s=3600),
    # Sale and lead events → the dashboard's aggregates (each event applied once, a batch in a few transactions):
    # few consumers, big batches, so fewer of them conflict on a tenant's period items.
    QueueDef(QueueKind.ANALYTICS, visibility_timeout_s=60, max_receive_count=8, max_concurrency=10),
    # Export jobs, one slice per message (each slice queues the next).
    QueueDef(QueueKind.EXPORTS, visibility_timeout_s=120, max_receive_count=5, max_concurrency=10),
)


@dataclass(frozen=True)
class RuleDef:
    """An EventBridge rule on the domain bus that delivers matching events to a job queue."""

    name: str
    detail_types: tuple[str, ...]
    target: QueueKind
    # Fields of the event's data and the values they must have (each: one of them), e.g. an order's channel.
    data: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def pattern(self) -> dict[str, object]:
        """The rule's event pattern (source btrix, one of the detail types; a trailing ``*`` is a prefix; no
        detail types: every event of the source; ``data``: the event's data fields must hold one of the values)."""
        if not self.detail_types:
            return {"source": ["btrix"]}
        exact = [t for t in self.detail_types if not t.endswith("*")]
        prefixes = [{"prefix": t[:-1]} for t in self.detail_types if t.endswith("*")]
        pattern: dict[str, object] = {"source": ["btrix"], "detail-type": [*exact, *prefixes]}
        if self.data:
            pattern["detail"] = {"data": {name: list(values) for name, values in self.data}}
        return pattern


RULES: tuple[RuleDef, ...] = (
    RuleDef(
        "live-updates",
        ("order.*", "appointment.*", "payment.*", "notification.sent", "notification.failed", "message.received"),
        QueueKind.LIVE_UPDATES,
    ),
    # Every event: the webhooks' fan-out matches it against each tenant's endpoints and their filters.
    RuleDef("webhooks", (), QueueKind.WEBHOOK_DELIVERIES),
    # Messages requested through the notifications port (same transaction as the change) reach the sender.
    RuleDef("notifications", ("notification.requested",), QueueKind.NOTIFICATIONS),
    # Sales and leads → the dashboard's per-tenant aggregates.
    RuleDef("analytics", ("sale.*", "lead.*"), QueueKind.ANALYTICS),
    # Sale changes that the tenant's Google Calendar follows (a new date, a cancellation, a deletion).
    RuleDef("integrations", ("sale.updated", "sale.status_changed", "sale.deleted"), QueueKind.INTEGRATIONS),
    # Payments and paid sales that finance records as income (its handlers on the integrations queue).
    RuleDef("finance", ("payment.succeeded", "sale.paid"), QueueKind.INTEGRATIONS),
    # A tenant's API key follows its plan into the plan's usage plan (chalicelib/tenants/usage_keys.py).
    RuleDef("usage-keys", ("tenant.created", "tenant.plan_changed"), QueueKind.INTEGRATIONS),
    # Status changes of delivery platforms' orders, which the platform must hear of (chalicelib/delivery); the
    # channels are orders.models.PLATFORMS.
    RuleDef(
        "delivery-platforms", ("order.status_changed",), QueueKind.INTEGRATIONS, data=(("channel", ("ifood", "rappi")),)
    ),
    # Orders placed and leads created, which the tenant's analytics hear of (GA4, Meta's Conversions API:
    # chalicelib/analytics/conversions). Its other events (payment.succeeded, sale.status_changed) reach the
    # integrations queue through the rules above: a second rule would deliver each of them twice.
    RuleDef("conversions", ("order.created", "lead.created"), QueueKind.INTEGRATIONS),
    # Catalog products, stock movements and paid orders that a connected ERP (Bling) gets (chalicelib/erp).
    RuleDef(
        "erp",
        ("product.created", "product.updated", "product.deactivated", "inventory.movement_recorded", "order.updated"),
        QueueKind.INTEGRATIONS,
    ),
)


@dataclass(frozen=True)
class SecretDef:
    """A secret the application reads; ``generated`` ones get a random value when provisioned."""

    suffix: str
    description: str
    generated_bytes: int = 0
    # ``module:function`` returning the initial value, for secrets that are not random bytes (key sets).
    generator: str | None = None


CURSOR_SIGNING_KEY = SecretDef("cursor-signing-key", "HMAC key that signs pagination cursors", 32)
# Rotating the lookup key changes every stored hash: it needs a re-hash of all lookups, not a plain rotation.
LOOKUP_HASH_KEY = SecretDef("lookup-hash-key", "HMAC key of the lookup hashes of encrypted values (CPF, phone)", 32)
JWT_SIGNING_KEYS = SecretDef(
    "jwt-signing-keys",
    "ES256 keys that sign access tokens (newest first)",
    generator="chalicelib.auth.keys:new_key_set",
)
# Provider credentials (JSON) are set by an operator; while one is absent its channel runs in outbox mode.
TWILIO_CREDENTIALS = SecretDef(
    "twilio", 'Twilio: {"accountSid", "authToken", "smsFrom", "whatsappFrom"} (SMS, and WhatsApp when chosen)'
)
META_WHATSAPP_CREDENTIALS = SecretDef("meta-whatsapp", 'WhatsApp Cloud API: {"accessToken", "phoneNumberId"}')
# The OAuth app portals install to connect to the WhatsApp gateway (a tenant may use its own local app instead).
BITRIX24_APP_CREDENTIALS = SecretDef("bitrix24-app", 'Bitrix24 app of BTRIX: {"clientId", "clientSecret"}')
# BTRIX's Google OAuth client: tenants connect their calendar by consenting to it (the redirect URI is the API's
# GET /integrations/google-calendar/callback). Operator-set, like the other provider apps.
GOOGLE_OAUTH_APP = SecretDef("google-oauth-app", 'Google OAuth client of BTRIX: {"clientId", "clientSecret"}')
# BTRIX's MelhorEnvio app: tenants connect their account by consenting to it (redirect URI: the API's GET
# /integrations/melhorenvio/callback). Operator-set.
MELHORENVIO_OAUTH_APP = SecretDef("melhorenvio-oauth-app", 'MelhorEnvio app of BTRIX: {"clientId", "clientSecret"}')
# BTRIX's Bling app (OAuth 2.0 authorization code): tenants connect their Bling account by consenting to it (the
# redirect URI is the API's GET /integrations/bling/callback); its client secret also signs Bling's webhooks.
BLING_OAUTH_APP = SecretDef("bling-oauth-app", 'Bling app of BTRIX: {"clientId", "clientSecret"}')
OAUTH_STATE_KEY = SecretDef("oauth-state-key", "HMAC key that signs the state of OAuth consents (tenant, user)", 32)
SMTP_CREDENTIALS = SecretDef("smtp", 'SMTP login when email goes through SMTP: {"username", "password"}')
WEB_PUSH_KEY = SecretDef(
    "web-push-vapid-key",
    "VAPID key pair that signs Web Push requests (browsers subscribe with its public key)",
    generator="chalicelib.notifications.channels.webpush:new_vapid_key",
)
# Platform secrets that verify the provider webhooks (functions/), set by an operator from each provider's
# console (docs/DEPLOY.md); never generated, since a made-up value would pass for a real one. Twilio callbacks
# are verified with the auth token of TWILIO_CREDENTIALS (or of the tenant's own Twilio integration).
META_APP_SECRET = SecretDef("meta-app-secret", "App secret of BTRIX's Meta app (X-Hub-Signature-256 of webhooks)")
META_VERIFY_TOKEN = SecretDef("meta-verify-token", "Verify token of BTRIX's Meta webhook subscription")
STRIPE_WEBHOOK_SECRET = SecretDef("stripe-webhook-secret", "Signing secret (whsec_...) of BTRIX's Stripe endpoint")
MERCADOPAGO_WEBHOOK_SECRET = SecretDef("mercadopago-webhook-secret", "Secret signing MercadoPago notifications")
PAGARME_WEBHOOK_SECRET = SecretDef(
    "pagarme-webhook-secret", "Basic password (user btrix) of Pagar.me webhooks of tenants without one of their own"
)
INBOUND_EMAIL_SECRET = SecretDef(
    "inbound-email-secret", "Standard Webhooks secret (whsec_...) of the relay that posts inbound email"
)
# BTRIX's own accounts that bill the tenants for their plans (chalicelib/billing): operator-set like the provider
# apps above, never a tenant's integration. Their webhook endpoints are the stripe / mercadopago functions' URLs
# with ``?scope=billing``, verified with the ``webhookSecret`` here.
STRIPE_BILLING_CREDENTIALS = SecretDef(
    "stripe-billing", 'Stripe account that bills BTRIX plans: {"secretKey", "webhookSecret"} (?scope=billing)'
)
MERCADOPAGO_BILLING_CREDENTIALS = SecretDef(
    "mercadopago-billing",
    'MercadoPago application that bills BTRIX plans: {"accessToken", "webhookSecret"} (?scope=billing)',
)
WEBHOOK_SECRETS: tuple[SecretDef, ...] = (
    META_APP_SECRET,
    META_VERIFY_TOKEN,
    STRIPE_WEBHOOK_SECRET,
    MERCADOPAGO_WEBHOOK_SECRET,
    PAGARME_WEBHOOK_SECRET,
    INBOUND_EMAIL_SECRET,
)
SECRETS: tuple[SecretDef, ...] = (
    *WEBHOOK_SECRETS,
    CURSOR_SIGNING_KEY,
    LOOKUP_HASH_KEY,
    JWT_SIGNING_KEYS,
    TWILIO_CREDENTIALS,
    META_WHATSAPP_CREDENTIALS,
    BITRIX24_APP_CREDENTIALS,
    GOOGLE_OAUTH_APP,
    MELHORENVIO_OAUTH_APP,
    BLING_OAUTH_APP,
    OAUTH_STATE_KEY,
    SMTP_CREDENTIALS,
    WEB_PUSH_KEY,
    STRIPE_BILLING_CREDENTIALS,
    MERCADOPAGO_BILLING_CREDENTIALS,
)


def _fifo(name: str, fifo: bool) -> str:
    return f"{name}.fifo" if fifo else name


def queue_name(kind: QueueKind) -> str:
    """The queue's name in this stage (``btrix-<stage>-<kind>``, ``.fifo`` for FIFO queues)."""
    definition = next(q for q in QUEUES if q.kind == kind)
    return _fifo(f"{get_settings().resource_prefix}-{kind.value}", definition.fifo)


def dlq_name(kind: QueueKind) -> str:
    """The dead-letter queue's name (same FIFO-ness as its source queue, as SQS requires)."""
    definition = next(q for q in QUEUES if q.kind == kind)
    return _fifo(f"{get_settings().resource_prefix}-{kind.value}-dlq", definition.fifo)


def secret_name(secret: SecretDef) -> str:
    """The secret's name in this stage (``btrix-<stage>/<suffix>``)."""
    return f"{get_settings().resource_prefix}/{secret.suffix}"


def kms_alias() -> str:
    """The alias of the stage's KMS key (field encryption)."""
    return f"alias/{get_settings().resource_prefix}"


@cache
def queue_url(name: str) -> str:
    """The URL of queue ``name`` (looked up once per process)."""
    return aws.sqs().get_queue_url(QueueName=name)["QueueUrl"]


def rule_name(rule: RuleDef) -> str:
    """The rule's name in this stage (``btrix-<stage>-<name>``)."""
    return f"{get_settings().resource_prefix}-{rule.name}"
