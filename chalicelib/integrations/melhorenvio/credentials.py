"""The credentials a tenant gives to connect MelhorEnvio: the schema they are validated with, and what of them
may be shown."""

from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, model_validator

from chalicelib.integrations.credentials import Credentials

__all__ = ["MelhorEnvioCredentials"]


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
