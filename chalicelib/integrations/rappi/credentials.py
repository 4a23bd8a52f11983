"""The credentials a tenant gives to connect Rappi: the schema they are validated with, and what of them
may be shown."""

from __future__ import annotations

from pydantic import Field, SecretStr

from chalicelib.integrations.credentials import Credentials

__all__ = ["RappiCredentials"]


class RappiCredentials(Credentials):
    """A Rappi store's integration (client credentials) and the secret Rappi signs its webhooks with
    (``Rappi-Signature``; the webhook's URL is BTRIX's rappi webhook with ``?tenant=<your tenant id>``)."""

    client_id: str = Field(min_length=1, max_length=200)
    client_secret: SecretStr = Field(min_length=1, max_length=500)
    store_id: str = Field(pattern=r"^[A-Za-z0-9-]{1,64}$", description="The Rappi store id")
    webhook_secret: SecretStr = Field(min_length=16, max_length=200)

    def summary(self) -> dict[str, str]:
        """The integration and the store."""
        return {"clientId": self.client_id, "storeId": self.store_id}
