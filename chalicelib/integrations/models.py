"""Integration models: what the API shows and the store keeps of an integration (records, sync log, references,
OAuth tokens and consent, jobs; never a secret).

The credential schemas are the providers' own (``integrations/<provider>/credentials.py``, the base and the
registry in ``integrations/credentials.py``), so a webhook function loads its provider's only.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from chalicelib.core.models import ApiModel
from chalicelib.core.pagination import PageParams
from chalicelib.integrations.credentials import ErpSettings, Provider

__all__ = [
    "AccessTokenRecord",
    "BlingConsentRequest",
    "ConnectIntegrationRequest",
    "ConsentStart",
    "Integration",
    "IntegrationError",
    "IntegrationList",
    "IntegrationRecord",
    "IntegrationRef",
    "IntegrationTest",
    "JobRecord",
    "MelhorEnvioConsentRequest",
    "OAuthCallbackQuery",
    "SyncLogEntry",
    "SyncLogQuery",
    "SyncRequested",
]


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
