"""Application settings, read once from the environment and validated."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = ["InvalidSettings", "Settings", "Stage", "get_settings"]

Stage = Literal["local", "dev", "prod"]


# A setting ``name`` is read from ``BTRIX_<NAME>`` (any case), one with a validation alias from that variable.
_PREFIX = "btrix_"


class InvalidSettings(ValueError):
    """Raised when a setting's value (from its environment variable or the constructor) is not valid: the message
    names the variable, the field and what is wrong with each."""


class Settings(BaseModel):
    """Everything configurable about BTRIX; the only reader of ``os.environ``.

    A plain pydantic model reading the environment itself, as pydantic-settings did (values given to the constructor
    win over the environment's): pydantic-settings imports asyncio, dotenv and its CLI and cloud sources, a tenth of
    ``import app`` in a new container, for what is a dictionary lookup per field.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    def __init__(self, **given: Any) -> None:
        try:
            super().__init__(**given)
        except ValidationError as exc:
            raise InvalidSettings(_explained(exc, given)) from exc

    @classmethod
    def _variable_of(cls, key: str) -> tuple[str, str]:
        """The environment variable and the field a validation error's first location names."""
        for name, field in cls.model_fields.items():
            alias = field.validation_alias if isinstance(field.validation_alias, str) else None
            if key in (name, alias):
                return (alias or _PREFIX + name).upper(), name
        return key.upper(), key

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, given: Any) -> Any:
        environ = {name.lower(): value for name, value in os.environ.items()}
        read: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            alias = field.validation_alias if isinstance(field.validation_alias, str) else None
            variable = alias.lower() if alias else _PREFIX + name
            if variable in environ:
                read[alias or name] = environ[variable]
        return {**read, **given} if isinstance(given, dict) else given

    stage: Stage = "local"
    version: str = "0.1.0"
    region: str = Field(default="us-east-1", validation_alias="AWS_DEFAULT_REGION")
    table_name: str = ""
    event_bus_name: str = ""
    resource_prefix: str = ""
    # The role tenant-scoped sessions assume (chalicelib.core.tenant_access); empty: the function's own credentials.
    tenant_role_arn: str = Field(default="", pattern=r"^(arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+)?$")
    # The role Step Functions runs the workflow machines with (it sends to the job queues). The default is the
    # local stack's (moto accepts any role); infra sets the real one. Its account also names the machines' ARNs.
    workflow_role_arn: str = Field(
        default="arn:aws:iam::123456789012:role/btrix-workflows",
        pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$",
    )
    tracing: bool = False
    aws_connect_timeout: float = 2.0
    aws_read_timeout: float = 10.0
    aws_max_attempts: int = 3
    jwt_issuer: str = "btrix"
    jwt_audience: str = "btrix-api"
    access_token_ttl_s: int = Field(default=900, ge=60, le=3600)
    refresh_token_ttl_days: int = Field(default=30, ge=1, le=180)
    invite_ttl_hours: int = Field(default=72, ge=1, le=720)
    # Browser sessions (cookie mode): the cookies' SameSite. Strict when the frontends are on the API's site
    # (app.example.com → api.example.com); None when they are on other sites (then the CSRF token and the Origin check
    # are what refuse a forged request). See docs/SECURITY.md "Browser sessions".
    session_cookie_samesite: Literal["Strict", "Lax", "None"] = "Strict"
    audit_retention_days: int = Field(default=365, ge=1)
    app_base_url: str = "http://localhost:3000"
    # The API Gateway management endpoint of the websocket API (https://<id>.execute-api.<region>.amazonaws.com/<stage>);
    # locally the runner's stand-in. Empty: pushes are skipped (no websocket API in this deployment).
    websocket_management_url: str = ""
    # Notifications: retries back off exponentially from this base (s), with full jitter, up to the cap.
    notification_retry_base_s: float = Field(default=30.0, ge=0)
    notification_retry_max_s: float = Field(default=3600.0, ge=0, le=43_200)
    # Every provider call (HTTP or SDK) gives up after this many seconds and counts as a failed attempt.
    provider_timeout_s: float = Field(default=10.0, gt=0, le=60)
    # Email: "ses" (SES v2, the function's role) or "smtp" (host here, login in the smtp-credentials secret).
    # Without a sender address email runs in outbox mode (recorded, not sent).
    email_provider: Literal["ses", "smtp"] = "ses"
    email_from: str = ""
    ses_endpoint_url: str = ""
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    # WhatsApp goes through Meta's Cloud API or Twilio; SMS always through Twilio.
    whatsapp_provider: Literal["meta", "twilio"] = "meta"
    meta_graph_url: str = "https://graph.facebook.com"
    meta_graph_version: str = Field(default="v21.0", pattern=r"^v\d+\.\d+$")
    twilio_base_url: str = ""
    # Where Twilio posts status callbacks (the twilio webhook function URL); empty: no callbacks requested.
    twilio_status_callback_url: str = ""
    web_push_contact: str = "mailto:notifications@btrix.invalid"
    # Lets provider and push URLs point at 127.0.0.1 over plain http: for the fake providers of tests and make run.
    notifications_allow_loopback: bool = False
    # Provider APIs the integrations' adapters call (Meta's and Twilio's are the notifications' settings).
    # Tests and `make run` point them at fake servers on loopback. Bitrix24 is per portal: ``{domain}`` is its host.
    bitrix24_rest_url: str = "https://{domain}/rest"
    # Bitrix24's OAuth server (token refresh for every portal), and the public URL of our bitrix24 webhook function
    # (the app's handler URL a tenant pastes into its portal; locally the runner's /hooks/bitrix24).
    bitrix24_oauth_url: str = "https://oauth.bitrix.info/oauth/token/"
    bitrix24_handler_url: str = ""
    # The WhatsApp <-> Bitrix24 gateway: media received on WhatsApp is kept in this bucket and handed to Bitrix24
    # as presigned URLs valid this long; sends are paced per number; failed relays back off from base to cap (s).
    media_bucket: str = ""
    media_url_ttl_s: int = Field(default=7 * 24 * 3600, ge=60, le=7 * 24 * 3600)
    whatsapp_sends_per_second: int = Field(default=80, ge=1, le=1000)
    # The WhatsApp shop assistant: how long one LLM completion may take before the deterministic brain answers the
    # turn instead, and how many messages of one conversation a minute it answers (more: one "slow down", then none).
    assistant_llm_timeout_s: float = Field(default=8.0, gt=0, le=30)
    assistant_turns_per_minute: int = Field(default=20, ge=1, le=600)
    relay_retry_base_s: float = Field(default=5.0, ge=0)
    relay_retry_max_s: float = Field(default=900.0, ge=0, le=43_200)
    # Attempts of one gateway job (a message to relay or send) before its message is failed and the job dead-lettered.
    relay_max_attempts: int = Field(default=8, ge=1, le=50)
    # Exports run as slices of at most this many seconds (under the functions' 29 s), and their download URLs are
    # valid this long.
    export_slice_seconds: float = Field(default=15.0, ge=0, le=25)
    export_url_ttl_s: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    billy_api_url: str = "https://api.billysbilling.com/v2"
    # Google Analytics 4's Measurement Protocol (/mp/collect, and /debug/mp/collect to validate). Meta's Conversions
    # API is Graph API: meta_graph_url.
    ga4_api_url: str = "https://www.google-analytics.com"
    ifood_api_url: str = "https://merchant-api.ifood.com.br"
    # Rappi's restaurants integrations API (not confirmed: the public host; the partner docs give it per country).
    rappi_api_url: str = "https://services.rappi.com.br/api/v2/restaurants-integrations-public-api"
    google_oauth_token_url: str = "https://oauth2.googleapis.com/token"
    google_oauth_authorize_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_calendar_api_url: str = "https://www.googleapis.com/calendar/v3"
    # Where Google sends the browser back after consent: this API's GET /integrations/google-calendar/callback,
    # registered as a redirect URI of BTRIX's OAuth client. Empty: the API's own URL of the request.
    google_oauth_redirect_url: str = ""
    # Bling (ERP) API v3 and its OAuth endpoints; where Bling sends the browser back after consent (this API's GET
    # /integrations/bling/callback, the redirect URI of BTRIX's Bling app); calls per second to one Bling account
    # (Bling allows 3 and answers 429 beyond).
    bling_api_url: str = "https://api.bling.com.br/Api/v3"
    bling_oauth_authorize_url: str = "https://www.bling.com.br/Api/v3/oauth/authorize"
    bling_oauth_token_url: str = "https://api.bling.com.br/Api/v3/oauth/token"
    bling_oauth_redirect_url: str = ""
    bling_requests_per_second: float = Field(default=3.0, gt=0, le=100)
    tiny_api_url: str = "https://api.tiny.com.br/api2"
    # Jobs of the integrations queue (workflow actions, provider events) that fail for a reason that may pass are
    # retried after a full-jitter exponential backoff from this base (s) up to the cap; then the DLQ.
    integration_retry_base_s: float = Field(default=30.0, ge=0)
    integration_retry_max_s: float = Field(default=1800.0, ge=0, le=43_200)
    mercadopago_api_url: str = "https://api.mercadopago.com"
    # Correios' contract API (CWS) and its homologation environment (an integration's ``sandbox`` picks one); JadLog's
    # Embarcador API.
    correios_api_url: str = "https://api.correios.com.br"
    correios_sandbox_url: str = "https://apihom.correios.com.br"
    jadlog_api_url: str = "https://www.jadlog.com.br/embarcador/api"
    # MelhorEnvio: production and sandbox (an integration's ``sandbox`` credential picks one); quotes are kept
    # this long (s) for POST /orders/{id}/shipments.
    melhorenvio_api_url: str = "https://melhorenvio.com.br"
    melhorenvio_sandbox_url: str = "https://sandbox.melhorenvio.com.br"
    # Where MelhorEnvio sends the browser back after consent: this API's GET /integrations/melhorenvio/callback,
    # registered as the redirect URI of BTRIX's MelhorEnvio app. Empty: consent not offered.
    melhorenvio_oauth_redirect_url: str = ""
    shipping_quote_ttl_s: int = Field(default=1800, ge=60, le=7 * 24 * 3600)
    # A label PDF BTRIX keeps (Correios') is shared as a presigned GET valid this long (it prints the recipient).
    shipping_label_url_ttl_s: int = Field(default=900, ge=60, le=24 * 3600)
    stripe_api_url: str = "https://api.stripe.com"
    pagarme_api_url: str = "https://api.pagar.me/core/v5"
    # Payment links: the public URL of GET /pay where customers open them (https://pay.example.com/pay; empty:
    # <app_base_url>/pay), and the mercadopago webhook function's URL that preferences name for notifications.
    payment_link_base_url: str = ""
    mercadopago_notification_url: str = ""
    # BTRIX's subscription billing (chalicelib/billing): after a failed charge the tenant keeps working this many
    # days (the providers retry meanwhile), then it is suspended until a payment arrives; where the providers send
    # the ADMIN back after the checkout or the customer portal (empty: <app_base_url>/billing).
    billing_grace_days: int = Field(default=7, ge=0, le=60)
    billing_return_url: str = ""
    # Inbound email arrives for <tenantId>@<this domain> (functions/email.py); empty: any domain.
    inbound_email_domain: str = ""
    password_min_length: int = Field(default=10, ge=8)
    # Each tenant's requests are throttled in the process at its plan's rate and burst (core/throttle.py), besides
    # API Gateway's usage plans in AWS. The test suite turns it off (its tenants make bursts of setup requests).
    tenant_throttle: bool = True
    # Each tenant's API key is kept in its plan's API Gateway usage plan, "<resource prefix>-<plan id>"
    # (chalicelib/tenants/usage_keys.py): infra turns it on where it makes the usage plans.
    usage_keys: bool = False
    # argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): ~40 ms per hash on one core.
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_memory_kib: int = Field(default=19_456, ge=8_192)
    argon2_parallelism: int = Field(default=1, ge=1)
    # Outgoing webhooks may target loopback addresses (and plain http to them): for tests and local runs only,
    # ignored in any other stage. Private, link-local and reserved targets stay refused either way.
    webhook_allow_loopback: bool = False
    # Multiplies the webhook retry schedule (now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h): tests shorten it.
    webhook_retry_scale: float = Field(default=1.0, gt=0, le=1)

    def model_post_init(self, __context: object) -> None:
        # Resource names default to "btrix-<stage>…" so one environment variable (the stage) is enough.
        prefix = self.resource_prefix or f"btrix-{self.stage}"
        object.__setattr__(self, "resource_prefix", prefix)
        if not self.table_name:
            object.__setattr__(self, "table_name", prefix)
        if not self.event_bus_name:
            object.__setattr__(self, "event_bus_name", prefix)
        if not self.media_bucket:
            object.__setattr__(self, "media_bucket", f"{prefix}-media")


def _explained(error: ValidationError, given: dict[str, Any]) -> str:
    """Each invalid setting: where its value came from, the value (cut short) and what is wrong with it."""
    lines = []
    for problem in error.errors():
        key = str(problem["loc"][0]) if problem["loc"] else ""
        variable, name = Settings._variable_of(key)
        source = f"the constructor's {name}" if key in given else f"{variable} (setting {name})"
        lines.append(f"{source}={str(problem.get('input'))[:80]!r}: {problem['msg']}")
    return "invalid settings: " + "; ".join(lines)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests call ``get_settings.cache_clear()`` after changing env)."""
    return Settings()
