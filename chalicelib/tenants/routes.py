"""Tenant routes: the caller's tenant, and the platform operator's tenant administration."""

from __future__ import annotations

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal
from chalicelib.auth.guard import protected_blueprint
from chalicelib.core.pagination import Page
from chalicelib.tenants import service
from chalicelib.tenants.models import ChangePlanRequest, Tenant, TenantListQuery, UpdateTenantRequest

blueprint = protected_blueprint(__name__, tag="tenant")


@blueprint.operation("/tenant", response=Tenant, permission=Permission.TENANT_READ)
def get_tenant(principal: Principal) -> Tenant:
    """Get the tenant

    The caller's business: settings, plan, modules, status.
    """
    return service.get_tenant(principal)


@blueprint.operation(
    "/tenant", "PATCH", body=UpdateTenantRequest, response=Tenant, permission=Permission.TENANT_UPDATE, problems=(409,)
)
def update_tenant(body: UpdateTenantRequest, principal: Principal) -> Tenant:
    """Change the tenant

    Name, business type, locale, time zone, currency, country, document (CNPJ for BR), WhatsApp number, and the
    browser origins of the tenant's frontends (`allowedOrigins`, up to 10: CORS and cookie sessions).
    """
    return service.update_tenant(principal, body)


@blueprint.operation(
    "/platform/tenants", query=TenantListQuery, response=Page[Tenant], permission=Permission.PLATFORM_TENANTS
)
def list_tenants(query: TenantListQuery, principal: Principal) -> Page[Tenant]:
    """List tenants (platform)

    Every tenant, newest first, optionally by status. Platform operators only.
    """
    return service.list_tenants(principal, query)


@blueprint.operation(
    "/platform/tenants/{tenant_id}/suspend",
    "POST",
    response=Tenant,
    permission=Permission.PLATFORM_TENANTS,
    problems=(404,),
)
def suspend_tenant(tenant_id: str, principal: Principal) -> Tenant:
    """Suspend a tenant (platform)

    Its users get 403 everywhere but billing until it is reactivated.
    """
    return service.set_status(principal, tenant_id, "suspended")


@blueprint.operation(
    "/platform/tenants/{tenant_id}/reactivate",
    "POST",
    response=Tenant,
    permission=Permission.PLATFORM_TENANTS,
    problems=(404,),
)
def reactivate_tenant(tenant_id: str, principal: Principal) -> Tenant:
    """Reactivate a tenant (platform)"""
    return service.set_status(principal, tenant_id, "active")


@blueprint.operation(
    "/platform/tenants/{tenant_id}/plan",
    "PUT",
    body=ChangePlanRequest,
    response=Tenant,
    permission=Permission.PLATFORM_TENANTS,
    problems=(404,),
)
def change_plan(tenant_id: str, body: ChangePlanRequest, principal: Principal) -> Tenant:
    """Change a tenant's plan (platform)

    The tenant's modules become the plan's.
    """
    return service.change_plan(principal, tenant_id, body)
