"""The credentials a tenant gives to connect iFood: the schema they are validated with, and what of them
may be shown."""

from __future__ import annotations

from pydantic import Field, SecretStr

from chalicelib.integrations.credentials import Credentials

__all__ = ["IFoodCredentials"]


class IFoodCredentials(Credentials):
    """An iFood Merchant API application (client credentials) and the merchant (store) it polls for. The same
    client secret signs iFood's webhook calls (``X-IFood-Signature``), when the application has a webhook."""

    client_id: str = Field(min_length=1, max_length=200)
    client_secret: SecretStr = Field(min_length=1, max_length=500)
    merchant_id: str = Field(pattern=r"^[A-Za-z0-9-]{1,64}$", description="The iFood merchant (store) id")

    def summary(self) -> dict[str, str]:
        """The application and the merchant."""
        return {"clientId": self.client_id, "merchantId": self.merchant_id}
