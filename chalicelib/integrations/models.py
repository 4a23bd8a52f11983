"""Integration models: the providers, the credential schema of each, and what the API shows (never a secret)."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from chalicelib.core.models import ApiModel
from chalicelib.core.pagination import PageParams

__all__ = [
    "CREDENTIALS",
    "BillyCredentials",
    "Bitrix24Credentials",
    "ConnectIntegrationRequest",
    "Credentials",
    "GoogleCalendarCredentials",
    "Integration",
    "IntegrationError",
    "IntegrationList",
    "IntegrationRecord",
    "IntegrationTest",
    "MercadoPagoCredentials",
    "MetaCredentials",
    "Provider",
    "StripeCredentials",
    "SyncLogEntry",
    "SyncLogQuery",
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
    """An OAuth client and a user's refresh token, and the calendar to write to."""

    client_id: str = Field(min_length=1, max_length=300)
    client_secret: SecretStr = Field(min_length=1, max_length=300)
    refresh_token: SecretStr = Field(min_length=1, max_length=2000)
    calendar_id: str = Field(default="primary", min_length=1, max_length=300)

    def summary(self) -> dict[str, str]:
        """The calendar."""
        return {"calendarId": self.calendar_id}


class StripeCredentials(Credentials):
    """A Stripe secret or restricted key."""

    secret_key: SecretStr

    @field_validator("secret_key")
    @classmethod
    def _key(cls, value: SecretStr) -> SecretStr:
        return _matches(r"(sk|rk)_(test|live)_[A-Za-z0-9]{10,247}", value, "a Stripe secret key (sk_… or rk_…)")

    def summary(self) -> dict[str, str]:
        """Whether the key is a test or a live one."""
        return {"mode": "live" if "_live_" in self.secret_key.get_secret_value() else "test"}


class MercadoPagoCredentials(Credentials):
    """A MercadoPago access token."""

    access_token: SecretStr

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


CREDENTIALS: dict[Provider, type[Credentials]] = {
    Provider.BITRIX24: Bitrix24Credentials,
    Provider.BILLY: BillyCredentials,
    Provider.GOOGLE_CALENDAR: GoogleCalendarCredentials,
    Provider.STRIPE: StripeCredentials,
    Provider.MERCADOPAGO: MercadoPagoCredentials,
    Provider.TWILIO: TwilioCredentials,
    Provider.META: MetaCredentials,
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
    """A connected integration as stored (the credentials are a KMS-encrypted token)."""

    tenant_id: str
    provider: Provider
    credentials: str
    summary: dict[str, str] = Field(default_factory=dict)
    connected_at: str
    updated_at: str
    last_sync_at: str | None = None
    last_error: IntegrationError | None = None
    last_test: IntegrationTest | None = None
    version: int = 1


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
    version: int | None = None

    @classmethod
    def of(cls, record: IntegrationRecord) -> Integration:
        """The public view of a stored integration."""
        failing = record.last_error is not None and (record.last_sync_at or "") <= record.last_error.at
        return cls(
            provider=record.provider,
            connected=True,
            status="failing" if failing else "connected",
            summary=record.summary,
            connected_at=record.connected_at,
            updated_at=record.updated_at,
            last_sync_at=record.last_sync_at,
            last_error=record.last_error,
            last_test=record.last_test,
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
