"""What a tenant may translate itself (``GET/PUT /translations/{locale}``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from chalicelib.core.models import ApiModel
from chalicelib.workflows.models import EntityType, StatusName

__all__ = ["Label", "SupportedLocale", "Translations", "TranslationsBody"]

# The locales BTRIX speaks (core/i18n.SUPPORTED_LOCALES); another one in the path is a 404 naming the parameter.
SupportedLocale = Literal["pt-BR", "en-US", "es-ES", "da-DK"]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class TranslationsBody(ApiModel):
    """The tenant's own texts in one locale; what is left out shows the system's (a PUT replaces them all)."""

    status_labels: dict[EntityType, Annotated[dict[StatusName, Label], Field(max_length=40)]] = Field(
        default_factory=dict,
        description="Per entity type, the label of each status named (statuses of the tenant's workflow)",
        examples=[{"order": {"PREPARING": "Na chapa"}}],
    )


class Translations(TranslationsBody):
    """The tenant's own texts in ``locale``."""

    locale: SupportedLocale
