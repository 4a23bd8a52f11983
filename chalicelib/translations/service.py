"""Per-tenant translations: each kind of text is kept by the capability it belongs to (status labels: workflows)."""

from __future__ import annotations

from chalicelib.access.principal import Principal
from chalicelib.translations.models import SupportedLocale, Translations, TranslationsBody
from chalicelib.workflows import service as workflows

__all__ = ["get_translations", "put_translations"]


def get_translations(principal: Principal, locale: SupportedLocale) -> Translations:
    """The tenant's own texts in ``locale``."""
    return Translations(locale=locale, status_labels=workflows.label_overrides(principal, locale))


def put_translations(principal: Principal, locale: SupportedLocale, body: TranslationsBody) -> Translations:
    """Replace the tenant's own texts in ``locale`` (validated against the tenant's workflows)."""
    workflows.put_label_overrides(principal, locale, dict(body.status_labels))
    return get_translations(principal, locale)
