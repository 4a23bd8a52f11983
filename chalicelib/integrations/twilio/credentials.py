"""The credentials a tenant gives to connect Twilio: the schema they are validated with, and what of them
may be shown."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from chalicelib.integrations.credentials import Credentials, secret_matching

__all__ = ["TwilioCredentials"]


class TwilioCredentials(Credentials):
    """A Twilio account and the numbers it sends from."""

    account_sid: str = Field(pattern=r"^AC[0-9a-f]{32}$")
    auth_token: SecretStr
    sms_from: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$")
    whatsapp_from: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$")

    @field_validator("auth_token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        return secret_matching(r"[0-9a-f]{32}", value, "a Twilio auth token (32 hexadecimal characters)")

    def summary(self) -> dict[str, str]:
        """The account and its sender numbers."""
        numbers = {"smsFrom": self.sms_from, "whatsappFrom": self.whatsapp_from}
        return {"accountSid": self.account_sid, **{k: v for k, v in numbers.items() if v}}
