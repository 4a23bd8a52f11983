"""The credentials a tenant gives to connect Bling: the schema they are validated with, and what of them
may be shown."""

from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, model_validator

from chalicelib.integrations.credentials import Credentials, ErpSettings

__all__ = ["BlingCredentials"]


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
