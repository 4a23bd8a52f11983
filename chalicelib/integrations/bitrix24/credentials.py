"""The credentials a tenant gives to connect Bitrix24: the schema they are validated with, and what of them
may be shown."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator

from chalicelib.integrations.credentials import Credentials

__all__ = ["Bitrix24Credentials"]


_HOST = re.compile(r"(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


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
