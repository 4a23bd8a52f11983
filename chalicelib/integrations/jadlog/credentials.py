"""The credentials a tenant gives to connect JadLog: the schema they are validated with, and what of them
may be shown."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from chalicelib.integrations.credentials import Credentials

__all__ = ["JadLogCredentials"]


class JadLogCredentials(Credentials):
    """A JadLog shipper (Embarcador API): the token JadLog issued, the shipper's CNPJ, its current account (conta
    corrente) and contract, and the modalities to quote (3 .PACKAGE and 9 .COM by default)."""

    token: SecretStr = Field(min_length=10, max_length=2000, description="The Embarcador API's bearer token")
    cnpj: str = Field(pattern=r"^[0-9]{14}$", description="The shipper's CNPJ (digits)")
    account: str = Field(pattern=r"^[0-9A-Za-z-]{1,20}$", description="The conta corrente JadLog gave the shipper")
    contract: str | None = Field(default=None, pattern=r"^[0-9A-Za-z-]{1,20}$", description="The contract number")
    modalities: list[int] = Field(default_factory=lambda: [3, 9], min_length=1, max_length=10)

    @field_validator("modalities")
    @classmethod
    def _modalities(cls, value: list[int]) -> list[int]:
        if not all(0 < modality < 100 for modality in value):
            raise ValueError("JadLog modality codes (3 .PACKAGE, 9 .COM, 40 RODOVIARIO…)")
        return value

    def summary(self) -> dict[str, str]:
        """The shipper's account."""
        return {"account": self.account, **({"contract": self.contract} if self.contract else {})}
