"""The credentials a tenant gives to connect MercadoPago: the schema they are validated with, and what of them
may be shown."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from chalicelib.integrations.credentials import Credentials, secret_matching

__all__ = ["MercadoPagoCredentials"]


class MercadoPagoCredentials(Credentials):
    """A MercadoPago access token, and the secret MercadoPago signs the application's notifications with
    (``x-signature``; without one, notifications are verified with BTRIX's platform secret)."""

    access_token: SecretStr
    webhook_secret: SecretStr | None = Field(default=None, min_length=16, max_length=200)

    @field_validator("access_token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        return secret_matching(
            r"(APP_USR|TEST)-[A-Za-z0-9-]{10,300}", value, "a MercadoPago access token (APP_USR-… or TEST-…)"
        )
