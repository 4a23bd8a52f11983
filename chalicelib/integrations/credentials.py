"""What every provider's credentials share: the providers a tenant can connect, the base of the credential schemas,
the ERP settings Bling and Tiny carry, and where each provider's schema lives (``credentials_model``).

Each provider's schema is in ``integrations/<provider>/credentials.py`` and is imported on first use: a webhook
function's asset holds only what its module imports (``infra/btrix_infra/packaging.py``), so each ``inbound`` module
imports its own provider's credentials module and never loads the others'.
"""

from __future__ import annotations

import re
from enum import StrEnum
from importlib import import_module
from typing import Annotated, Literal

from pydantic import Field, SecretStr

from chalicelib.core.models import ApiModel
from chalicelib.core.references import NotAReference

__all__ = ["Credentials", "ErpSettings", "Provider", "credentials_model", "secret_matching"]


class Provider(StrEnum):
    """The providers a tenant can connect."""

    BITRIX24 = "bitrix24"
    BILLY = "billy"
    GOOGLE_CALENDAR = "google_calendar"
    STRIPE = "stripe"
    MERCADOPAGO = "mercadopago"
    TWILIO = "twilio"
    META = "meta"
    MELHORENVIO = "melhorenvio"
    PAGARME = "pagarme"
    IFOOD = "ifood"
    GA4 = "ga4"
    META_CAPI = "meta_capi"
    RAPPI = "rappi"
    BLING = "bling"
    TINY = "tiny"
    CORREIOS = "correios"
    JADLOG = "jadlog"


def secret_matching(pattern: str, value: SecretStr, what: str) -> SecretStr:
    """``value`` when it matches ``pattern`` whole; else a validation error saying it is not ``what``."""
    if not re.fullmatch(pattern, value.get_secret_value()):
        raise ValueError(f"not {what}")
    return value


class Credentials(ApiModel):
    """Base of the credential schemas: secrets are ``SecretStr`` (masked in repr and logs)."""

    def summary(self) -> dict[str, str]:
        """What may be shown about these credentials: identifiers, never secrets."""
        return {}


class ErpSettings(ApiModel):
    """How BTRIX and an ERP share the work: which side owns products and stock, and whether the ERP issues the NF-e
    of paid orders."""

    source_of_truth: Literal["btrix", "erp"] = Field(
        default="btrix",
        description="btrix: BTRIX's products and stock are pushed to the ERP (an ERP balance that differs is "
        "logged as a conflict); erp: the ERP's stock is pulled into BTRIX and BTRIX changes are logged as conflicts, "
        "not pushed",
    )
    issue_nfe: bool = Field(default=False, description="Ask the ERP for the NF-e of every paid order")
    deposit_id: Annotated[str | None, NotAReference("the ERP's own id of one of its stock deposits")] = Field(
        default=None, pattern=r"^[0-9]{1,20}$", description="The ERP's stock deposit (default: its default deposit)"
    )

    def erp_summary(self) -> dict[str, str]:
        """What may be shown of these settings."""
        shown = {"sourceOfTruth": self.source_of_truth, "issueNfe": str(self.issue_nfe).lower()}
        return {**shown, **({"depositId": self.deposit_id} if self.deposit_id else {})}


# Provider → (its package under integrations/, its schema's class name).
_SCHEMAS: dict[Provider, tuple[str, str]] = {
    Provider.BITRIX24: ("bitrix24", "Bitrix24Credentials"),
    Provider.BILLY: ("billy", "BillyCredentials"),
    Provider.GOOGLE_CALENDAR: ("google_calendar", "GoogleCalendarCredentials"),
    Provider.STRIPE: ("stripe", "StripeCredentials"),
    Provider.MERCADOPAGO: ("mercadopago", "MercadoPagoCredentials"),
    Provider.TWILIO: ("twilio", "TwilioCredentials"),
    Provider.META: ("meta", "MetaCredentials"),
    Provider.MELHORENVIO: ("melhorenvio", "MelhorEnvioCredentials"),
    Provider.PAGARME: ("pagarme", "PagarmeCredentials"),
    Provider.IFOOD: ("ifood", "IFoodCredentials"),
    Provider.GA4: ("ga4", "Ga4Credentials"),
    Provider.META_CAPI: ("meta", "MetaCapiCredentials"),
    Provider.RAPPI: ("rappi", "RappiCredentials"),
    Provider.BLING: ("bling", "BlingCredentials"),
    Provider.TINY: ("tiny", "TinyCredentials"),
    Provider.CORREIOS: ("correios", "CorreiosCredentials"),
    Provider.JADLOG: ("jadlog", "JadLogCredentials"),
}


def credentials_model(provider: Provider) -> type[Credentials]:
    """The credential schema of ``provider`` (``integrations/<provider>/credentials.py``, imported now if no one
    has yet)."""
    package, name = _SCHEMAS[provider]
    model = getattr(import_module(f"chalicelib.integrations.{package}.credentials"), name)
    if not (isinstance(model, type) and issubclass(model, Credentials)):
        raise TypeError(f"{package}.credentials.{name} is not a credential schema")
    return model
