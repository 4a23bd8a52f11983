"""The credentials a tenant gives to connect Pagar.me: the schema they are validated with, and what of them
may be shown."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from chalicelib.integrations.credentials import Credentials, secret_matching

__all__ = ["PagarmeCredentials"]


class PagarmeCredentials(Credentials):
    """A Pagar.me (API v5) secret key, and the HTTP Basic login the account's webhook was set up with in Pagar.me's
    dashboard (the endpoint's URL is BTRIX's pagarme webhook with ``?tenant=<your tenant id>``; without a password
    of its own, webhooks are checked against user ``btrix`` and BTRIX's platform secret)."""

    secret_key: SecretStr
    webhook_user: str = Field(default="btrix", min_length=1, max_length=100, pattern=r"^[^:]+$")
    webhook_secret: SecretStr | None = Field(
        default=None, min_length=16, max_length=200, description="The webhook's Basic password"
    )

    @field_validator("secret_key")
    @classmethod
    def _key(cls, value: SecretStr) -> SecretStr:
        return secret_matching(r"sk_(test_)?[A-Za-z0-9]{16,120}", value, "a Pagar.me secret key (sk_… or sk_test_…)")

    def summary(self) -> dict[str, str]:
        """Whether the key is a test or a live one, and the webhook's user."""
        mode = "test" if self.secret_key.get_secret_value().startswith("sk_test_") else "live"
        return {"mode": mode, "webhookUser": self.webhook_user}
