"""The events of talking to people: notifications, the WhatsApp gateway's messages and channels, integrations."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.webhooks.event_types.base import ChangedData, EventData, EventTypeDef

__all__ = [
    "EVENTS",
    "ChannelData",
    "ConversationMessageData",
    "IntegrationData",
    "NotificationRequestedData",
    "NotificationStatusData",
]


class NotificationRequestedData(EventData):
    """A message was requested (it is sent by the notifications worker)."""

    notification_id: str
    channel: Literal["email", "sms", "whatsapp", "push"]
    template: str | None = Field(description="The template's key; null for a message with its own text")


class NotificationStatusData(EventData):
    """A notification was sent, delivered, read, or failed (the provider's report, or the last failed attempt)."""

    notification_id: str
    channel: Literal["email", "sms", "whatsapp", "push"]
    template: str | None = None
    to: str | None = Field(default=None, description="The recipient as addressed: customer:<id>, user:<id>, role:ADMIN")
    provider: str | None = Field(default=None, description="Who carried it: ses, smtp, twilio, meta, webpush")


class ConversationMessageData(EventData):
    """A WhatsApp message of a conversation was received from the customer, or sent to them."""

    conversation_id: str
    channel_id: str
    message_id: str
    type: str = Field(description="text, image, audio, video, document, sticker, location, contacts, …")


class ChannelData(EventData):
    """A channel of the WhatsApp gateway (a number or a Bitrix24 portal) was connected, changed or removed."""

    kind: Literal["whatsapp", "bitrix24"]
    name: str
    phone_number_id: str | None = None
    domain: str | None = Field(default=None, description="A portal's host name")
    reason: str | None = Field(default=None, description="Why a portal was disconnected")


class IntegrationData(EventData):
    """An integration with a provider was connected, changed or disconnected (never its credentials)."""

    provider: str
    reason: str | None = Field(
        default=None, description="Why the provider disconnected it (a refused refresh token); absent for an ADMIN's"
    )


EVENTS: tuple[EventTypeDef, ...] = (
    EventTypeDef("notification.requested", "A message was requested.", NotificationRequestedData),
    EventTypeDef("notification.sent", "A message left BTRIX through its provider.", NotificationStatusData),
    EventTypeDef("notification.delivered", "The provider reported a message delivered.", NotificationStatusData),
    EventTypeDef("notification.read", "The provider reported a message read.", NotificationStatusData),
    EventTypeDef("notification.failed", "A message could not be delivered.", NotificationStatusData),
    EventTypeDef("message.received", "A customer wrote on WhatsApp (gateway).", ConversationMessageData),
    EventTypeDef("message.sent", "A message left for a customer on WhatsApp (gateway).", ConversationMessageData),
    EventTypeDef("channel.created", "A WhatsApp number or a Bitrix24 portal was added to the gateway.", ChannelData),
    EventTypeDef("channel.updated", "A gateway channel changed (name, portal mapping, template).", ChangedData),
    EventTypeDef("channel.deleted", "A gateway channel was removed.", ChannelData),
    EventTypeDef("channel.connected", "A Bitrix24 portal installed the app and is connected.", ChannelData),
    EventTypeDef(
        "channel.disconnected", "A Bitrix24 portal was disconnected (uninstalled, or it refused the app).", ChannelData
    ),
    EventTypeDef("integration.connected", "An integration was connected.", IntegrationData),
    EventTypeDef("integration.updated", "An integration's settings or credentials changed.", IntegrationData),
    EventTypeDef("integration.disconnected", "An integration was disconnected.", IntegrationData),
)
