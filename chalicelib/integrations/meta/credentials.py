"""The credentials a tenant gives to connect Meta (the WhatsApp Cloud API, the Conversions API): the schemas they
are validated with, and what of them may be shown."""

from __future__ import annotations

from pydantic import Field, SecretStr

from chalicelib.integrations.credentials import Credentials

__all__ = ["MetaCapiCredentials", "MetaCredentials"]


class MetaCredentials(Credentials):
    """A WhatsApp Cloud API number: its phone-number id, its business account and a (system user) token."""

    phone_number_id: str = Field(pattern=r"^[0-9]{5,30}$")
    waba_id: str | None = Field(default=None, pattern=r"^[0-9]{5,30}$")
    access_token: SecretStr = Field(min_length=20, max_length=1000)

    def summary(self) -> dict[str, str]:
        """The number and its business account."""
        return {"phoneNumberId": self.phone_number_id, **({"wabaId": self.waba_id} if self.waba_id else {})}


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
