"""The credentials a tenant gives to connect Stripe: the schema they are validated with, and what of them
may be shown."""

from __future__ import annotations

from pydantic import SecretStr, field_validator

from chalicelib.integrations.credentials import Credentials, secret_matching

__all__ = ["StripeCredentials"]


class StripeCredentials(Credentials):
    """A Stripe secret or restricted key, and the signing secret of the account's webhook endpoint (the endpoint's
    URL is BTRIX's stripe webhook with ``?tenant=<your tenant id>``; without a secret of its own, events are
    verified with BTRIX's platform secret)."""

    secret_key: SecretStr
    webhook_secret: SecretStr | None = None

    @field_validator("secret_key")
    @classmethod
    def _key(cls, value: SecretStr) -> SecretStr:
        return secret_matching(r"(sk|rk)_(test|live)_[A-Za-z0-9]{10,247}", value, "a Stripe secret key (sk_… or rk_…)")

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        return (
            None
            if value is None
            else secret_matching(r"whsec_[A-Za-z0-9+/=]{16,200}", value, "a signing secret (whsec_…)")
        )

    def summary(self) -> dict[str, str]:
        """Whether the key is a test or a live one."""
        return {"mode": "live" if "_live_" in self.secret_key.get_secret_value() else "test"}
