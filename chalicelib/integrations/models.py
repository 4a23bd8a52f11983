"""Integration models: the providers, the credential schema of each, and what the API shows (never a secret).

One responsibility: the integrations capability's models (one credential schema per provider, the stored records).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator

from chalicelib.core.models import ApiModel
from chalicelib.core.pagination import PageParams
from chalicelib.core.references import NotAReference

__all__ = [
    "CREDENTIALS",
    "AccessTokenRecord",
    "BillyCredentials",
    "Bitrix24Credentials",
    "BlingConsentRequest",
    "BlingCredentials",
    "ConnectIntegrationRequest",
    "ConsentStart",
    "CorreiosCredentials",
    "Credentials",
    "ErpSettings",
    "Ga4Credentials",
    "GoogleCalendarCredentials",
    "IFoodCredentials",
    "Integration",
    "IntegrationError",
    "IntegrationList",
    "IntegrationRecord",
    "IntegrationRef",
    "IntegrationTest",
    "JadLogCredentials",
    "JobRecord",
    "MelhorEnvioConsentRequest",
    "MelhorEnvioCredentials",
    "MercadoPagoCredentials",
    "MetaCapiCredentials",
    "MetaCredentials",
    "OAuthCallbackQuery",
    "PagarmeCredentials",
    "Provider",
    "RappiCredentials",
    "StripeCredentials",
    "SyncLogEntry",
    "SyncLogQuery",
    "SyncRequested",
    "TinyCredentials",
    "TwilioCredentials",
]


class Provider(StrEnum):
    """The providers a tenant can connect."""

    BITRIX24 = "bitrix24"
    BILLY = "billy"
    GOOGLE_CALENDAR = "google_calendar"
    STRIPE = "stripe"
    MERCADOPAGO = "mercadopago"
    TWILIO = "twilio"
    META = "meta"
    MELHORENVIO = "melhorenvio"
    PAGARME = "pagarme"
    IFOOD = "ifood"
    GA4 = "ga4"
    META_CAPI = "meta_capi"
    RAPPI = "rappi"
    BLING = "bling"
    TINY = "tiny"
    CORREIOS = "correios"
    JADLOG = "jadlog"


_HOST = re.compile(r"(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def _matches(pattern: str, value: SecretStr, what: str) -> SecretStr:
    if not re.fullmatch(pattern, value.get_secret_value()):
        raise ValueError(f"not {what}")
    return value


class Credentials(ApiModel):
    """Base of the credential schemas: secrets are ``SecretStr`` (masked in repr and logs)."""

    def summary(self) -> dict[str, str]:
        """What may be shown about these credentials: identifiers, never secrets."""
        return {}


class Bitrix24Credentials(Credentials):
    """A Bitrix24 portal: its domain, the OAuth app (client id/secret) and the portal's tokens."""

    domain: str = Field(description="The portal's host, e.g. acme.bitrix24.com.br")
    client_id: str = Field(min_length=1, max_length=200)
    client_secret: SecretStr = Field(min_length=1, max_length=500)
    access_token: SecretStr = Field(min_length=1, max_length=2000)
    refresh_token: SecretStr = Field(min_length=1, max_length=2000)
    member_id: str | None = Field(default=None, max_length=200)

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        host = value.strip().lower().removeprefix("https://").rstrip("/")
        if not _HOST.fullmatch(host):
            raise ValueError("a host name such as acme.bitrix24.com")
        return host

    def summary(self) -> dict[str, str]:
        """The portal's domain and member id."""
        return {"domain": self.domain, **({"memberId": self.member_id} if self.member_id else {})}


class BillyCredentials(Credentials):
    """A Billy company's API access token."""

    access_token: SecretStr = Field(min_length=20, max_length=200)


class GoogleCalendarCredentials(Credentials):
    """A user's refresh token and the calendar to write to, for an OAuth client: the tenant's own (``clientId`` and
    ``clientSecret``) or, without them, BTRIX's (``POST /integrations/google-calendar/connect``)."""

    client_id: str | None = Field(default=None, min_length=1, max_length=300)
    client_secret: SecretStr | None = Field(default=None, min_length=1, max_length=300)
    refresh_token: SecretStr = Field(min_length=1, max_length=2000)
    calendar_id: str = Field(default="primary", min_length=1, max_length=300)
    account: str | None = Field(default=None, max_length=320, description="The Google account that gave consent")

    @model_validator(mode="after")
    def _client_pair(self) -> Self:
        if (self.client_id is None) != (self.client_secret is None):
            raise ValueError("clientId and clientSecret go together (or neither, for BTRIX's OAuth client)")
        return self

    def summary(self) -> dict[str, str]:
        """The calendar and the account."""
        return {"calendarId": self.calendar_id, **({"account": self.account} if self.account else {})}


class StripeCredentials(Credentials):
    """A Stripe secret or restricted key, and the signing secret of the account's webhook endpoint (the endpoint's
    URL is BTRIX's stripe webhook with ``?tenant=<your tenant id>``; without a secret of its own, events are
    verified with BTRIX's platform secret)."""

    secret_key: SecretStr
    webhook_secret: SecretStr | None = None

    @field_validator("secret_key")
    @classmethod
    def _key(cls, value: SecretStr) -> SecretStr:
        return _matches(r"(sk|rk)_(test|live)_[A-Za-z0-9]{10,247}", value, "a Stripe secret key (sk_… or rk_…)")

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        return None if value is None else _matches(r"whsec_[A-Za-z0-9+/=]{16,200}", value, "a signing secret (whsec_…)")

    def summary(self) -> dict[str, str]:
        """Whether the key is a test or a live one."""
        return {"mode": "live" if "_live_" in self.secret_key.get_secret_value() else "test"}


class MercadoPagoCredentials(Credentials):
    """A MercadoPago access token, and the secret MercadoPago signs the application's notifications with
    (``x-signature``; without one, notifications are verified with BTRIX's platform secret)."""

    access_token: SecretStr
    webhook_secret: SecretStr | None = Field(default=None, min_length=16, max_length=200)

    @field_validator("access_token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        return _matches(
            r"(APP_USR|TEST)-[A-Za-z0-9-]{10,300}", value, "a MercadoPago access token (APP_USR-… or TEST-…)"
        )


class TwilioCredentials(Credentials):
    """A Twilio account and the numbers it sends from."""

    account_sid: str = Field(pattern=r"^AC[0-9a-f]{32}$")
    auth_token: SecretStr
    sms_from: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$")
    whatsapp_from: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$")

    @field_validator("auth_token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        return _matches(r"[0-9a-f]{32}", value, "a Twilio auth token (32 hexadecimal characters)")

    def summary(self) -> dict[str, str]:
        """The account and its sender numbers."""
        numbers = {"smsFrom": self.sms_from, "whatsappFrom": self.whatsapp_from}
        return {"accountSid": self.account_sid, **{k: v for k, v in numbers.items() if v}}


class MetaCredentials(Credentials):
    """A WhatsApp Cloud API number: its phone-number id, its business account and a (system user) token."""

    phone_number_id: str = Field(pattern=r"^[0-9]{5,30}$")
    waba_id: str | None = Field(default=None, pattern=r"^[0-9]{5,30}$")
    access_token: SecretStr = Field(min_length=20, max_length=1000)

    def summary(self) -> dict[str, str]:
        """The number and its business account."""
        return {"phoneNumberId": self.phone_number_id, **({"wabaId": self.waba_id} if self.waba_id else {})}


class MelhorEnvioCredentials(Credentials):
    """A MelhorEnvio account connected to an OAuth app: the tenant's own (``clientId``/``clientSecret``) or, without
    them, BTRIX's (``POST /integrations/melhorenvio/connect``); its tokens (the access token lives 30 days, the
    refresh token 45 and is replaced on every refresh), the contact email MelhorEnvio requires in the
    ``User-Agent``, and whether it is a sandbox account (``sandbox.melhorenvio.com.br``)."""

    client_id: str | None = Field(default=None, min_length=1, max_length=100)
    client_secret: SecretStr | None = Field(default=None, min_length=1, max_length=500)
    refresh_token: SecretStr = Field(min_length=1, max_length=4000)
    access_token: SecretStr | None = Field(default=None, min_length=1, max_length=4000)
    email: str = Field(
        pattern=r"^[^@\s]{1,64}@[^@\s]{1,255}$",
        description="The technical contact MelhorEnvio asks for in the User-Agent",
    )
    sandbox: bool = False
    account: str | None = Field(default=None, max_length=320, description="The MelhorEnvio account that gave consent")

    @model_validator(mode="after")
    def _client_pair(self) -> Self:
        if (self.client_id is None) != (self.client_secret is None):
            raise ValueError("clientId and clientSecret go together (or neither, for BTRIX's MelhorEnvio app)")
        return self

    def summary(self) -> dict[str, str]:
        """Sandbox or production, and the account."""
        mode = {"mode": "sandbox" if self.sandbox else "production"}
        return {**mode, **({"account": self.account} if self.account else {})}


class PagarmeCredentials(Credentials):
    """A Pagar.me (API v5) secret key, and the HTTP Basic login the account's webhook was set up with in Pagar.me's
    dashboard (the endpoint's URL is BTRIX's pagarme webhook with ``?tenant=<your tenant id>``; without a password
    of its own, webhooks are checked against user ``btrix`` and BTRIX's platform secret)."""

    secret_key: SecretStr
    webhook_user: str = Field(default="btrix", min_length=1, max_length=100, pattern=r"^[^:]+$")
    webhook_secret: SecretStr | None = Field(
        default=None, min_length=16, max_length=200, description="The webhook's Basic password"
    )

    @field_validator("secret_key")
    @classmethod
    def _key(cls, value: SecretStr) -> SecretStr:
        return _matches(r"sk_(test_)?[A-Za-z0-9]{16,120}", value, "a Pagar.me secret key (sk_… or sk_test_…)")

    def summary(self) -> dict[str, str]:
        """Whether the key is a test or a live one, and the webhook's user."""
        mode = "test" if self.secret_key.get_secret_value().startswith("sk_test_") else "live"
        return {"mode": mode, "webhookUser": self.webhook_user}


class IFoodCredentials(Credentials):
    """An iFood Merchant API application (client credentials) and the merchant (store) it polls for. The same
    client secret signs iFood's webhook calls (``X-IFood-Signature``), when the application has a webhook."""

    client_id: str = Field(min_length=1, max_length=200)
    client_secret: SecretStr = Field(min_length=1, max_length=500)
    merchant_id: str = Field(pattern=r"^[A-Za-z0-9-]{1,64}$", description="The iFood merchant (store) id")

    def summary(self) -> dict[str, str]:
        """The application and the merchant."""
        return {"clientId": self.client_id, "merchantId": self.merchant_id}


class Ga4Credentials(Credentials):
    """A Google Analytics 4 web data stream: its measurement id and a Measurement Protocol API secret (Admin > Data
    streams > the stream > Measurement Protocol API secrets)."""

    measurement_id: str = Field(
        pattern=r"^G-[A-Z0-9]{4,20}$", description="The stream's measurement id, e.g. G-1A2B3C4D5E"
    )
    api_secret: SecretStr = Field(min_length=8, max_length=200)

    def summary(self) -> dict[str, str]:
        """The measurement id."""
        return {"measurementId": self.measurement_id}


class MetaCapiCredentials(Credentials):
    """A Meta Pixel (dataset) and an access token that may send its Conversions API events (Events Manager >
    the pixel > Settings > Generate access token). While ``testEventCode`` is set, events go to Events Manager's Test
    Events tab only (the connection test always uses it); remove it to send real events."""

    pixel_id: str = Field(pattern=r"^[0-9]{5,30}$")
    access_token: SecretStr = Field(min_length=20, max_length=1000)
    test_event_code: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,50}$")

    def summary(self) -> dict[str, str]:
        """The pixel, and the test event code while events go to the Test Events tab."""
        return {"pixelId": self.pixel_id, **({"testEventCode": self.test_event_code} if self.test_event_code else {})}


class RappiCredentials(Credentials):
    """A Rappi store's integration (client credentials) and the secret Rappi signs its webhooks with
    (``Rappi-Signature``; the webhook's URL is BTRIX's rappi webhook with ``?tenant=<your tenant id>``)."""

    client_id: str = Field(min_length=1, max_length=200)
    client_secret: SecretStr = Field(min_length=1, max_length=500)
    store_id: str = Field(pattern=r"^[A-Za-z0-9-]{1,64}$", description="The Rappi store id")
    webhook_secret: SecretStr = Field(min_length=16, max_length=200)

    def summary(self) -> dict[str, str]:
        """The integration and the store."""
        return {"clientId": self.client_id, "storeId": self.store_id}


class ErpSettings(ApiModel):
    """How BTRIX and an ERP share the work: which side owns products and stock, and whether the ERP issues the NF-e
    of paid orders."""

    source_of_truth: Literal["btrix", "erp"] = Field(
        default="btrix",
        description="btrix: BTRIX's products and stock are pushed to the ERP (an ERP balance that differs is "
        "logged as a conflict); erp: the ERP's stock is pulled into BTRIX and BTRIX changes are logged as conflicts, "
        "not pushed",
    )
    issue_nfe: bool = Field(default=False, description="Ask the ERP for the NF-e of every paid order")
    deposit_id: Annotated[str | None, NotAReference("the ERP's own id of one of its stock deposits")] = Field(
        default=None, pattern=r"^[0-9]{1,20}$", description="The ERP's stock deposit (default: its default deposit)"
    )

    def erp_summary(self) -> dict[str, str]:
        """What may be shown of these settings."""
        shown = {"sourceOfTruth": self.source_of_truth, "issueNfe": str(self.issue_nfe).lower()}
        return {**shown, **({"depositId": self.deposit_id} if self.deposit_id else {})}


class BlingCredentials(Credentials, ErpSettings):
    """A Bling account (API v3): the refresh token of its OAuth consent (Bling rotates it on every refresh: the current
    one is kept with the access token), for BTRIX's Bling app or the tenant's own (``clientId`` and
    ``clientSecret``), and the ERP settings (``POST /integrations/bling/connect``)."""

    client_id: str | None = Field(default=None, min_length=1, max_length=300)
    client_secret: SecretStr | None = Field(default=None, min_length=1, max_length=300)
    refresh_token: SecretStr = Field(min_length=1, max_length=2000)
    account: str | None = Field(default=None, max_length=300, description="The Bling company that gave consent")

    @model_validator(mode="after")
    def _client_pair(self) -> Self:
        if (self.client_id is None) != (self.client_secret is None):
            raise ValueError("clientId and clientSecret go together (or neither, for BTRIX's Bling app)")
        return self

    def summary(self) -> dict[str, str]:
        """The company and the ERP settings."""
        return {**self.erp_summary(), **({"account": self.account} if self.account else {})}


class TinyCredentials(Credentials, ErpSettings):
    """A Tiny ERP company (API 2.0): its API token (Tiny's "Configurações > API"), and the ERP settings. Tiny keeps
    stock in its default deposit here (``depositId`` is Bling's)."""

    api_token: SecretStr = Field(min_length=20, max_length=200)

    def summary(self) -> dict[str, str]:
        """The ERP settings."""
        return self.erp_summary()


class CorreiosCredentials(Credentials):
    """A Correios contract (CWS, ``api.correios.com.br``): the user (the idCorreios login or the contract's CNPJ), the
    access code generated in CWS, the posting card (cartão de postagem) and contract numbers, the services (product
    codes) to quote, and whether it is the homologation environment (``apihom.correios.com.br``)."""

    user: str = Field(min_length=1, max_length=100, description="The CWS user (idCorreios login or CNPJ)")
    access_code: SecretStr = Field(min_length=1, max_length=200, description="The access code generated in CWS")
    posting_card: str = Field(pattern=r"^[0-9]{8,12}$", description="The cartão de postagem number")
    contract: str = Field(pattern=r"^[0-9]{8,12}$", description="The contract number")
    services: list[str] = Field(
        default_factory=lambda: ["03298", "03220"],
        min_length=1,
        max_length=10,
        description="Product codes to quote (contract PAC 03298 and SEDEX 03220 by default)",
    )
    sandbox: bool = False

    @field_validator("services")
    @classmethod
    def _services(cls, value: list[str]) -> list[str]:
        if not all(re.fullmatch(r"[0-9]{5}", code) for code in value):
            raise ValueError("product codes of five digits, e.g. 03298")
        return value

    def summary(self) -> dict[str, str]:
        """The contract, the posting card and the environment."""
        mode = "homologation" if self.sandbox else "production"
        return {"contract": self.contract, "postingCard": self.posting_card, "mode": mode}


class JadLogCredentials(Credentials):
    """A JadLog shipper (Embarcador API): the token JadLog issued, the shipper's CNPJ, its current account (conta
    corrente) and contract, and the modalities to quote (3 .PACKAGE and 9 .COM by default)."""

    token: SecretStr = Field(min_length=10, max_length=2000, description="The Embarcador API's bearer token")
    cnpj: str = Field(pattern=r"^[0-9]{14}$", description="The shipper's CNPJ (digits)")
    account: str = Field(pattern=r"^[0-9A-Za-z-]{1,20}$", description="The conta corrente JadLog gave the shipper")
    contract: str | None = Field(default=None, pattern=r"^[0-9A-Za-z-]{1,20}$", description="The contract number")
    modalities: list[int] = Field(default_factory=lambda: [3, 9], min_length=1, max_length=10)

    @field_validator("modalities")
    @classmethod
    def _modalities(cls, value: list[int]) -> list[int]:
        if not all(0 < modality < 100 for modality in value):
            raise ValueError("JadLog modality codes (3 .PACKAGE, 9 .COM, 40 RODOVIARIO…)")
        return value

    def summary(self) -> dict[str, str]:
        """The shipper's account."""
        return {"account": self.account, **({"contract": self.contract} if self.contract else {})}


CREDENTIALS: dict[Provider, type[Credentials]] = {
    Provider.BITRIX24: Bitrix24Credentials,
    Provider.BILLY: BillyCredentials,
    Provider.GOOGLE_CALENDAR: GoogleCalendarCredentials,
    Provider.STRIPE: StripeCredentials,
    Provider.MERCADOPAGO: MercadoPagoCredentials,
    Provider.TWILIO: TwilioCredentials,
    Provider.META: MetaCredentials,
    Provider.MELHORENVIO: MelhorEnvioCredentials,
    Provider.PAGARME: PagarmeCredentials,
    Provider.IFOOD: IFoodCredentials,
    Provider.GA4: Ga4Credentials,
    Provider.META_CAPI: MetaCapiCredentials,
    Provider.RAPPI: RappiCredentials,
    Provider.BLING: BlingCredentials,
    Provider.TINY: TinyCredentials,
    Provider.CORREIOS: CorreiosCredentials,
    Provider.JADLOG: JadLogCredentials,
}


class ConnectIntegrationRequest(ApiModel):
    """Credentials for a provider, in that provider's schema (see the provider list in the description)."""

    credentials: dict[str, Any] = Field(description="The provider's credential fields (camelCase)")
    version: int | None = Field(
        default=None, ge=1, description="The version you read, to replace credentials without overwriting a change"
    )


class IntegrationError(ApiModel):
    """The last thing that went wrong with a provider."""

    at: str
    message: str


class IntegrationTest(ApiModel):
    """The result of a connection test (``POST /integrations/{provider}/test``)."""

    ok: bool
    account: str | None = Field(default=None, description="Who the provider says the credentials belong to")
    detail: str
    latency_ms: int
    tested_at: str


class IntegrationRecord(ApiModel):
    """A connected integration as stored (the credentials are a KMS-encrypted token). One that the provider
    stopped accepting (a dead refresh token) stays, ``disconnectedAt`` set, until the tenant reconnects it."""

    tenant_id: str
    provider: Provider
    credentials: str
    summary: dict[str, str] = Field(default_factory=dict)
    connected_at: str
    updated_at: str
    last_sync_at: str | None = None
    last_error: IntegrationError | None = None
    last_test: IntegrationTest | None = None
    disconnected_at: str | None = None
    disconnected_reason: str | None = None
    shared_account: str | None = Field(
        default=None, description="The provider account connected through BTRIX's shared app (its webhook route)"
    )
    version: int = 1

    @property
    def connected(self) -> bool:
        """Whether the credentials are usable (not disconnected by the provider's refusal)."""
        return self.disconnected_at is None


class Integration(ApiModel):
    """A provider as the tenant sees it: connected or not, identifiers, health. Never the credentials."""

    provider: Provider
    connected: bool
    status: Literal["connected", "failing", "disconnected"]
    summary: dict[str, str] = Field(default_factory=dict)
    connected_at: str | None = None
    updated_at: str | None = None
    last_sync_at: str | None = None
    last_error: IntegrationError | None = None
    last_test: IntegrationTest | None = None
    disconnected_at: str | None = Field(
        default=None, description="When the provider stopped accepting the credentials (reconnect to resume)"
    )
    disconnected_reason: str | None = None
    version: int | None = None

    @classmethod
    def of(cls, record: IntegrationRecord) -> Integration:
        """The public view of a stored integration."""
        failing = record.last_error is not None and (record.last_sync_at or "") <= record.last_error.at
        status: Literal["connected", "failing", "disconnected"] = "failing" if failing else "connected"
        return cls(
            provider=record.provider,
            connected=record.connected,
            status=status if record.connected else "disconnected",
            summary=record.summary,
            connected_at=record.connected_at,
            updated_at=record.updated_at,
            last_sync_at=record.last_sync_at,
            last_error=record.last_error,
            last_test=record.last_test,
            disconnected_at=record.disconnected_at,
            disconnected_reason=record.disconnected_reason,
            version=record.version,
        )

    @classmethod
    def disconnected(cls, provider: Provider) -> Integration:
        """A provider the tenant has not connected."""
        return cls(provider=provider, connected=False, status="disconnected")


class IntegrationList(ApiModel):
    """Every provider, connected or not (a fixed list: one entry per provider)."""

    items: list[Integration]


class SyncLogEntry(ApiModel):
    """One sync (or test) an adapter made with a provider."""

    id: str
    provider: Provider
    operation: str
    ok: bool
    detail: str | None = None
    error: str | None = None
    duration_ms: int | None = None
    at: str


class SyncLogQuery(PageParams):
    """Query of ``GET /integrations/{provider}/logs``."""


class IntegrationRef(ApiModel):
    """The provider's id for one of ours, kept under the integration (``kind``: ``product``, ``openinvoice``…)."""

    kind: str
    local_id: str
    remote_id: str
    data: dict[str, str] = Field(default_factory=dict)
    created_at: str


class AccessTokenRecord(ApiModel):
    """An integration's current OAuth access token (encrypted) and the lease of whoever is refreshing it."""

    tenant_id: str
    provider: Provider
    access_token_encrypted: str
    token_expires_at: str
    token_version: int = 1
    refreshed_at: str
    lease_id: str | None = None
    lease_until: int | None = None
    refresh_token_encrypted: str | None = Field(
        default=None, description="The latest refresh token, for providers whose refresh tokens rotate on every use"
    )


class JobRecord(ApiModel):
    """One handler's job for one message of the integrations queue: run once (``done``), or how its last run ended."""

    key: str
    kind: str
    status: Literal["running", "retrying", "done", "failed"]
    handler: str | None = None
    attempts: int = 1
    lease_id: str | None = None
    lease_until: int | None = None
    error: str | None = None
    dead_letter_of: str | None = Field(
        default=None, description="The queue message whose run sent this job to the DLQ (its redelivery skips it)"
    )
    started_at: str
    updated_at: str


class ConsentStart(ApiModel):
    """Where to send the ADMIN to consent (``POST /integrations/google-calendar/connect``, ``…/melhorenvio/…``,
    ``…/bling/…``)."""

    url: str = Field(description="The provider's consent screen; open it in the browser within 10 minutes")
    redirect_uri: str = Field(description="Where the provider sends the browser back (this API's callback)")
    expires_at: str


class MelhorEnvioConsentRequest(ApiModel):
    """Which MelhorEnvio account to consent with: a sandbox one or not, and the technical contact email MelhorEnvio
    requires in every request (default: the ADMIN's)."""

    sandbox: bool = False
    email: str | None = Field(default=None, pattern=r"^[^@\s]{1,64}@[^@\s]{1,255}$")


class BlingConsentRequest(ErpSettings):
    """The ERP settings the Bling account is connected with (``POST /integrations/bling/connect``)."""


class OAuthCallbackQuery(ApiModel):
    """What the provider (Google, MelhorEnvio, Bling) adds to the callback URL: the code (or an error) and our
    state."""

    state: str = Field(min_length=1, max_length=2000)
    code: str | None = Field(default=None, min_length=1, max_length=2000)
    error: str | None = Field(default=None, max_length=200, description="access_denied when the user said no")
    scope: str | None = Field(default=None, max_length=2000)


class SyncRequested(ApiModel):
    """A sync with the provider, queued (``POST /integrations/{provider}/sync``)."""

    provider: Provider
    task: str = Field(description="The job queued, e.g. billy.sync (its outcome shows in the sync log)")
    queued_at: str
