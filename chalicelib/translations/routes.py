"""Translation routes: the tenant's own texts per locale, over the system's catalogues."""

from __future__ import annotations

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal
from chalicelib.auth.guard import protected_blueprint
from chalicelib.translations import service
from chalicelib.translations.models import SupportedLocale, Translations, TranslationsBody

blueprint = protected_blueprint(__name__, tag="translations")


@blueprint.operation("/translations/{locale}", response=Translations, permission=Permission.TENANT_READ)
def get_translations(locale: SupportedLocale, principal: Principal) -> Translations:
    """Get the tenant's own texts in a locale

    What the tenant wrote for `locale` (pt-BR, en-US, es-ES, da-DK): status labels per entity type. Whatever is not
    there is shown from the workflow definitions and the system catalogues.
    """
    return service.get_translations(principal, locale)


@blueprint.operation(
    "/translations/{locale}",
    "PUT",
    body=TranslationsBody,
    response=Translations,
    permission=Permission.WORKFLOWS_MANAGE,
)
def put_translations(locale: SupportedLocale, body: TranslationsBody, principal: Principal) -> Translations:
    """Replace the tenant's own texts in a locale

    Every status named must be one of the tenant's workflow of that entity type (else 422 naming it); labels are 1
    to 80 characters. The workflow routes and notifications then show these labels to callers of that language.
    """
    return service.put_translations(principal, locale, body)
