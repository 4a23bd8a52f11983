"""The credentials a tenant gives to connect Google Calendar: the schema they are validated with, and what of them
may be shown."""

from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, model_validator

from chalicelib.integrations.credentials import Credentials

__all__ = ["GoogleCalendarCredentials"]


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
