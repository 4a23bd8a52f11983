"""Channel models: WhatsApp numbers and Bitrix24 portals as stored and as shown, requests, and a portal's tokens."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from chalicelib.core.models import ApiModel, invalid_at
from chalicelib.core.pagination import PageParams
from chalicelib.core.patch import Clearable, PatchRequest
from chalicelib.core.references import CheckedInService, NotAReference

__all__ = [
    "Channel",
    "ChannelError",
    "ChannelKind",
    "ChannelListQuery",
    "ChannelStatus",
    "ConnectPortalRequest",
    "ConnectWhatsAppRequest",
    "OAuthApp",
    "PortalConnect",
    "PortalRecord",
    "PortalTokensRecord",
    "TemplateRef",
    "UpdateChannelRequest",
    "WhatsAppChannelRecord",
]

ChannelKind = Literal["whatsapp", "bitrix24"]
# whatsapp: connected (it receives and sends). bitrix24: pending (waiting for the app's install), connected,
# disconnected (uninstalled, or the portal refused the app: see disconnectedReason).
ChannelStatus = Literal["pending", "connected", "disconnected"]

Digits = Annotated[str, StringConstraints(pattern=r"^\d{1,32}$")]
Secret = Annotated[str, StringConstraints(min_length=8, max_length=1024)]
Line = Annotated[str, StringConstraints(pattern=r"^\d{1,10}$")]
ChannelId = Annotated[str, StringConstraints(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")]
IN_PORTAL = CheckedInService("portal", "the service loads the portal channel to map the number to it")
META_ID = NotAReference("an id Meta gave the number or the WhatsApp account, not a record of BTRIX")


class TemplateRef(ApiModel):
    """The approved WhatsApp template sent when an operator answers outside the 24-hour window."""

    name: str = Field(pattern=r"^[a-z0-9_]{1,512}$", description="Template name in the WhatsApp Business account")
    language: str = Field(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$", description="Its language code (pt_BR, en_US)")


class ChannelError(ApiModel):
    """The last thing that went wrong on a channel."""

    at: str
    message: str


class ConnectWhatsAppRequest(ApiModel):
    """A WhatsApp Cloud API number to connect (from the Meta app that owns it)."""

    phone_number_id: Annotated[Digits, META_ID] = Field(description="Phone number id (WhatsApp Manager → API setup)")
    waba_id: Annotated[Digits, META_ID] = Field(description="WhatsApp Business account id")
    access_token: Secret = Field(description="A token that may send from the number (system user, permanent)")
    app_secret: Secret = Field(description="The Meta app's secret: verifies the webhook signatures")
    verify_token: Secret = Field(description="The verify token of the app's webhook subscription")
    name: str | None = Field(default=None, min_length=1, max_length=120)
    display_phone_number: str | None = Field(default=None, pattern=r"^\+?[0-9 ()-]{5,32}$")
    portal_id: Annotated[ChannelId | None, IN_PORTAL] = Field(
        default=None, description="The Bitrix24 portal channel it relays to"
    )
    line: Line | None = Field(default=None, description="The Open Line id in that portal")
    template: TemplateRef | None = None

    @model_validator(mode="after")
    def _portal_and_line(self) -> Self:
        if (self.portal_id is None) != (self.line is None):
            raise ValueError("portalId and line go together")
        return self


class OAuthApp(ApiModel):
    """The OAuth app (client id and secret) a portal installed, when it is the tenant's own local app."""

    client_id: Annotated[str, NotAReference("the OAuth client id of the portal's own Bitrix24 app")] = Field(
        min_length=3, max_length=200
    )
    client_secret: Secret


class ConnectPortalRequest(ApiModel):
    """A Bitrix24 portal to connect: it becomes connected when the portal installs the app from the handler URL."""

    name: str | None = Field(default=None, min_length=1, max_length=120)
    app: OAuthApp | None = Field(default=None, description="The portal's own local app; default: BTRIX's app")


class UpdateChannelRequest(PatchRequest):
    """Changes to a channel; ``version`` is the one the client read. Numbers: name, portalId + line, template
    (null removes the mapping or the template). Portals: name only."""

    version: int = Field(ge=1)
    name: str | None = Field(default=None, min_length=1, max_length=120)
    portal_id: Annotated[ChannelId | None, Clearable(), IN_PORTAL] = None
    line: Annotated[Line | None, Clearable()] = None
    template: Annotated[TemplateRef | None, Clearable()] = None

    @model_validator(mode="after")
    def _portal_and_line_together(self) -> Self:
        sent = self.model_fields_set
        if ("portal_id" in sent) != ("line" in sent) or (self.portal_id is None) != (self.line is None):
            field = "portalId" if "portal_id" in sent else "line"
            raise invalid_at((field,), "portalId and line go together (both null to unmap the number)")
        return self


class ChannelListQuery(PageParams):
    """Paging of ``GET /channels``, newest first."""


class _Health(ApiModel):
    last_inbound_at: str | None = None
    last_outbound_at: str | None = None
    last_error: ChannelError | None = None


class WhatsAppChannelRecord(_Health):
    """A connected WhatsApp number as stored: its secrets only encrypted (``core.crypto``)."""

    id: str
    tenant_id: str
    kind: Literal["whatsapp"] = "whatsapp"
    name: str
    phone_number_id: str
    waba_id: str
    display_phone_number: str | None = None
    portal_id: str | None = None
    line: str | None = None
    template: TemplateRef | None = None
    status: ChannelStatus = "connected"
    access_token_encrypted: str
    app_secret_encrypted: str
    verify_token_encrypted: str
    created_at: str
    updated_at: str
    version: int = 1


class PortalRecord(_Health):
    """A Bitrix24 portal channel as stored (its OAuth tokens live on their own item, ``PortalTokensRecord``)."""

    id: str
    tenant_id: str
    kind: Literal["bitrix24"] = "bitrix24"
    name: str
    status: ChannelStatus = "pending"
    member_id: str | None = None
    domain: str | None = None
    app_encrypted: str | None = None
    connect_expires_at: str | None = None
    connected_at: str | None = None
    disconnected_at: str | None = None
    disconnected_reason: str | None = None
    token_expires_at: str | None = None
    created_at: str
    updated_at: str
    version: int = 1


class PortalTokensRecord(ApiModel):
    """A portal's OAuth tokens (encrypted), their expiry, their version (+1 on each refresh), and the lease of the
    one worker refreshing them right now."""

    tenant_id: str
    portal_id: str
    access_token_encrypted: str
    refresh_token_encrypted: str
    token_expires_at: str
    token_version: int = 1
    install_ref: str | None = None
    refreshed_at: str | None = None
    lease_id: str | None = None
    lease_until: int | None = None


class Channel(ApiModel):
    """A channel of the gateway, either kind, with its health. Secrets and tokens are never shown."""

    id: str
    kind: ChannelKind
    name: str
    status: ChannelStatus
    phone_number_id: str | None = Field(default=None, description="whatsapp")
    waba_id: str | None = Field(default=None, description="whatsapp")
    display_phone_number: str | None = Field(default=None, description="whatsapp")
    portal_id: str | None = Field(default=None, description="whatsapp: the portal channel it relays to")
    line: str | None = Field(default=None, description="whatsapp: the Open Line in that portal")
    template: TemplateRef | None = Field(default=None, description="whatsapp: sent outside the 24-hour window")
    domain: str | None = Field(default=None, description="bitrix24: the portal's host name")
    member_id: str | None = Field(default=None, description="bitrix24")
    connect_expires_at: str | None = Field(default=None, description="bitrix24 pending: the install link expires")
    connected_at: str | None = None
    disconnected_at: str | None = None
    disconnected_reason: str | None = Field(default=None, description="uninstalled, or the portal's refusal")
    token_expires_at: str | None = Field(default=None, description="bitrix24: when the access token expires")
    last_inbound_at: str | None = Field(default=None, description="Last message received on this channel")
    last_outbound_at: str | None = Field(default=None, description="Last message sent through this channel")
    last_error: str | None = None
    last_error_at: str | None = None
    created_at: str
    updated_at: str
    version: int

    @classmethod
    def of(cls, record: WhatsAppChannelRecord | PortalRecord) -> Channel:
        """The API view of a stored channel (without its secrets)."""
        shown = record.model_dump(
            by_alias=False,
            exclude={
                "tenant_id",
                "access_token_encrypted",
                "app_secret_encrypted",
                "verify_token_encrypted",
                "app_encrypted",
                "last_error",
            },
        )
        error = record.last_error
        return cls.model_validate(
            {**shown, "last_error": error.message if error else None, "last_error_at": error.at if error else None}
        )


class PortalConnect(Channel):
    """A new portal channel and the link its portal installs the app from (shown only now, valid 24 hours)."""

    handler_url: str = Field(
        description="Paste it as the app's handler URL in Bitrix24 and install the app: the portal connects"
    )
