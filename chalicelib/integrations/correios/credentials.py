"""The credentials a tenant gives to connect Correios: the schema they are validated with, and what of them
may be shown."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator

from chalicelib.integrations.credentials import Credentials

__all__ = ["CorreiosCredentials"]


class CorreiosCredentials(Credentials):
    """A Correios contract (CWS, ``api.correios.com.br``): the user (the idCorreios login or the contract's CNPJ), the
    access code generated in CWS, the posting card (cartão de postagem) and contract numbers, the services (product
    codes) to quote, and whether it is the homologation environment (``apihom.correios.com.br``)."""

    user: str = Field(min_length=1, max_length=100, description="The CWS user (idCorreios login or CNPJ)")
    access_code: SecretStr = Field(min_length=1, max_length=200, description="The access code generated in CWS")
    posting_card: str = Field(pattern=r"^[0-9]{8,12}$", description="The cartão de postagem number")
    contract: str = Field(pattern=r"^[0-9]{8,12}$", description="The contract number")
    services: list[str] = Field(
        default_factory=lambda: ["03298", "03220"],
        min_length=1,
        max_length=10,
        description="Product codes to quote (contract PAC 03298 and SEDEX 03220 by default)",
    )
    sandbox: bool = False

    @field_validator("services")
    @classmethod
    def _services(cls, value: list[str]) -> list[str]:
        if not all(re.fullmatch(r"[0-9]{5}", code) for code in value):
            raise ValueError("product codes of five digits, e.g. 03298")
        return value

    def summary(self) -> dict[str, str]:
        """The contract, the posting card and the environment."""
        mode = "homologation" if self.sandbox else "production"
        return {"contract": self.contract, "postingCard": self.posting_card, "mode": mode}
