"""Privacy request routes: a person's data export and erasure (ADMIN: ``privacy:manage``)."""

from __future__ import annotations

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal
from chalicelib.auth.guard import protected_blueprint
from chalicelib.privacy import service
from chalicelib.privacy.models import CreateErasureRequest, CreatePrivacyExportRequest, Erasure, PrivacyExport

blueprint = protected_blueprint(__name__, tag="privacy")

MANAGE = Permission.PRIVACY_MANAGE


@blueprint.operation(
    "/privacy/exports",
    "POST",
    body=CreatePrivacyExportRequest,
    response=PrivacyExport,
    status=202,
    permission=MANAGE,
    problems=(409,),
)
def create_privacy_export(body: CreatePrivacyExportRequest, principal: Principal) -> PrivacyExport:
    """Export a person's data

    Everything BTRIX holds about a customer or a user (the customer, orders, sales, leads, conversations and media,
    notifications, payments, consents, audit entries about them, …), collected by a background job as a ZIP
    (data.json and their files). Follow its progress with GET /privacy/exports/{id}, which gives a download URL
    that expires once it is completed. One export per person at a time (409 naming body.id); an unknown person is
    a 422 naming body.id.
    """
    return service.create_export(principal, body)


@blueprint.operation("/privacy/exports/{privacy_export_id}", response=PrivacyExport, permission=MANAGE, problems=(404,))
def get_privacy_export(privacy_export_id: str, principal: Principal) -> PrivacyExport:
    """Get a data export

    Its progress (capabilities collected of those that hold personal data) and, once completed, a presigned download
    URL valid BTRIX_EXPORT_URL_TTL_S.
    """
    return service.get_export(principal, privacy_export_id)


@blueprint.operation(
    "/privacy/erasures",
    "POST",
    body=CreateErasureRequest,
    response=Erasure,
    status=202,
    permission=MANAGE,
    problems=(409,),
)
def create_erasure(body: CreateErasureRequest, principal: Principal) -> Erasure:
    """Erase a customer or a user

    A background job anonymises the customer everywhere in BTRIX, keeping what the law keeps (order and sale totals,
    taxes, invoices: their name becomes a pseudonym), deletes their conversations and media, frees their email and
    phone, and asks each connected processor to erase too (Stripe, Billy.dk, Bitrix24, Google Calendar; MercadoPago
    is recorded as manual). A user (staff member) is deactivated at once (every session ends), then pseudonymised:
    their record, the audit entries they made (which keep them as actor, under the pseudonym), their sales and leads,
    the messages sent to them. Follow it with GET /privacy/erasures/{id}. Once per person (409 naming body.id); never
    yourself (422 naming body.id) nor the tenant's last active ADMIN (409 naming body.id).
    """
    return service.create_erasure(principal, body)


@blueprint.operation("/privacy/erasures/{erasure_id}", response=Erasure, permission=MANAGE, problems=(404,))
def get_erasure(erasure_id: str, principal: Principal) -> Erasure:
    """Get an erasure

    What was erased or pseudonymised per capability, and each processor's outcome (pending, done, failed with the
    error and attempts, or manual).
    """
    return service.get_erasure(principal, erasure_id)
