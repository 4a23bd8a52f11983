"""The credentials a tenant gives to connect Tiny: the schema they are validated with, and what of them
may be shown."""

from __future__ import annotations

from pydantic import Field, SecretStr

from chalicelib.integrations.credentials import Credentials, ErpSettings

__all__ = ["TinyCredentials"]


class TinyCredentials(Credentials, ErpSettings):
    """A Tiny ERP company (API 2.0): its API token (Tiny's "Configurações > API"), and the ERP settings. Tiny keeps
    stock in its default deposit here (``depositId`` is Bling's)."""

    api_token: SecretStr = Field(min_length=20, max_length=200)

    def summary(self) -> dict[str, str]:
        """The ERP settings."""
        return self.erp_summary()
