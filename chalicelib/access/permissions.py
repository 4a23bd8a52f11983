"""The one permission matrix of BTRIX: which role may do what. Services and routes both read it.

A permission is ``<resource>:<action>``; where a role may act only on what it owns, the matrix grants the
``…:own`` variant and services compare the owner (``require_own_or_all``).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["MATRIX", "TENANT_ROLES", "Module", "Permission", "Role", "permissions_of"]


class Role(StrEnum):
    """Roles of a tenant's users, plus the platform operator (outside every tenant)."""

    ADMIN = "ADMIN"
    MANAGER = "MANAGER"
    STAFF = "STAFF"
    KITCHEN = "KITCHEN"
    AGENT = "AGENT"
    SALES_REP = "SALES_REP"
    VIEWER = "VIEWER"
    PLATFORM_ADMIN = "PLATFORM_ADMIN"


TENANT_ROLES: tuple[Role, ...] = tuple(r for r in Role if r is not Role.PLATFORM_ADMIN)


class Module(StrEnum):
    """Product modules a plan enables; a route of a module the tenant lacks answers 403 naming it."""

    CATALOG = "catalog"
    INVENTORY = "inventory"
    ORDERS = "orders"
    APPOINTMENTS = "appointments"
    NOTIFICATIONS = "notifications"
    WEBHOOKS = "webhooks"
    INTEGRATIONS = "integrations"
    WHATSAPP = "whatsapp"
    BITRIX24 = "bitrix24"
    ASSISTANT = "assistant"
    SALES = "sales"
    ANALYTICS = "analytics"
    PAYMENTS = "payments"
    FINANCE = "finance"
    MARKETPLACE = "marketplace"


class Permission(StrEnum):
    """Everything a route or a service may require."""

    PROFILE_READ = "profile:read"
    PROFILE_UPDATE = "profile:update"
    TENANT_READ = "tenant:read"
    TENANT_UPDATE = "tenant:update"
    USERS_READ = "users:read"
    USERS_MANAGE = "users:manage"
    ROLES_READ = "roles:read"
    AUDIT_READ = "audit:read"
    BILLING_MANAGE = "billing:manage"
    CATALOG_READ = "catalog:read"
    CATALOG_WRITE = "catalog:write"
    INVENTORY_READ = "inventory:read"
    INVENTORY_WRITE = "inventory:write"
    CUSTOMERS_READ = "customers:read"
    CUSTOMERS_WRITE = "customers:write"
    ORDERS_READ_ALL = "orders:read:all"
    ORDERS_READ_OWN = "orders:read:own"
    ORDERS_WRITE = "orders:write"
    ORDERS_TRANSITION = "orders:transition"
    WORKFLOWS_MANAGE = "workflows:manage"
    APPOINTMENTS_READ = "appointments:read"
    APPOINTMENTS_WRITE = "appointments:write"
    RESOURCES_MANAGE = "resources:manage"
    NOTIFICATIONS_READ = "notifications:read"
    NOTIFICATIONS_SEND = "notifications:send"
    TEMPLATES_MANAGE = "templates:manage"
    WEBHOOKS_MANAGE = "webhooks:manage"
    INTEGRATIONS_MANAGE = "integrations:manage"
    CHANNELS_MANAGE = "channels:manage"
    CONVERSATIONS_READ = "conversations:read"
    CONVERSATIONS_WRITE = "conversations:write"
    SALES_READ_OWN = "sales:read:own"
    SALES_READ_ALL = "sales:read:all"
    SALES_WRITE_OWN = "sales:write:own"
    SALES_WRITE_ALL = "sales:write:all"
    SALES_DELETE = "sales:delete"
    LEADS_READ_OWN = "leads:read:own"
    LEADS_READ_ALL = "leads:read:all"
    LEADS_WRITE = "leads:write"
    ANALYTICS_READ = "analytics:read"
    DATA_EXPORT = "data:export"
    PAYMENTS_READ = "payments:read"
    PAYMENTS_WRITE = "payments:write"
    PAYMENT_LINKS = "payment_links:manage"
    FINANCE_READ = "finance:read"
    FINANCE_WRITE = "finance:write"
    MARKETPLACE_READ = "marketplace:read"
    MARKETPLACE_WRITE = "marketplace:write"
    PRIVACY_MANAGE = "privacy:manage"
    TRANSLATIONS_MANAGE = "translations:manage"
    PLATFORM_TENANTS = "platform:tenants"
    PLATFORM_MARKETPLACE = "platform:marketplace"
    PLATFORM_QUEUES = "platform:queues"


P = Permission
_OWN_PROFILE = {P.PROFILE_READ, P.PROFILE_UPDATE}
_EVERY_TENANT_ROLE = _OWN_PROFILE | {P.ROLES_READ, P.TENANT_READ}
_READ_OPERATIONS = {
    P.CATALOG_READ,
    P.INVENTORY_READ,
    P.CUSTOMERS_READ,
    P.ORDERS_READ_ALL,
    P.ORDERS_READ_OWN,
    P.APPOINTMENTS_READ,
    P.SALES_READ_OWN,
    P.SALES_READ_ALL,
    P.LEADS_READ_OWN,
    P.LEADS_READ_ALL,
    P.ANALYTICS_READ,
    P.CONVERSATIONS_READ,
}
_MANAGER = (
    _EVERY_TENANT_ROLE
    | _READ_OPERATIONS
    | {
        P.USERS_READ,
        P.CATALOG_WRITE,
        P.INVENTORY_WRITE,
        P.CUSTOMERS_WRITE,
        P.ORDERS_WRITE,
        P.ORDERS_TRANSITION,
        P.APPOINTMENTS_WRITE,
        P.RESOURCES_MANAGE,
        P.NOTIFICATIONS_READ,
        P.NOTIFICATIONS_SEND,
        P.TEMPLATES_MANAGE,
        P.CONVERSATIONS_WRITE,
        P.SALES_WRITE_OWN,
        P.SALES_WRITE_ALL,
        P.SALES_DELETE,
        P.LEADS_WRITE,
        P.DATA_EXPORT,
        P.PAYMENTS_READ,
        P.PAYMENTS_WRITE,
        P.PAYMENT_LINKS,
        P.FINANCE_READ,
        P.MARKETPLACE_READ,
        P.MARKETPLACE_WRITE,
    }
)

MATRIX: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(p for p in Permission if not p.value.startswith("platform:")),
    Role.MANAGER: frozenset(_MANAGER),
    Role.STAFF: frozenset(
        _EVERY_TENANT_ROLE
        | {
            P.CATALOG_READ,
            P.INVENTORY_READ,
            P.INVENTORY_WRITE,
            P.CUSTOMERS_READ,
            P.CUSTOMERS_WRITE,
            P.ORDERS_READ_ALL,
            P.ORDERS_READ_OWN,
            P.ORDERS_WRITE,
            P.ORDERS_TRANSITION,
            P.APPOINTMENTS_READ,
            P.APPOINTMENTS_WRITE,
            P.PAYMENTS_READ,
            P.PAYMENT_LINKS,
        }
    ),
    Role.KITCHEN: frozenset(
        _EVERY_TENANT_ROLE
        | {P.CATALOG_READ, P.INVENTORY_READ, P.ORDERS_READ_ALL, P.ORDERS_READ_OWN, P.ORDERS_TRANSITION}
    ),
    Role.AGENT: frozenset(
        _EVERY_TENANT_ROLE
        | {
            P.CATALOG_READ,
            P.CUSTOMERS_READ,
            P.CUSTOMERS_WRITE,
            P.ORDERS_READ_OWN,
            P.ORDERS_WRITE,
            P.CONVERSATIONS_READ,
            P.CONVERSATIONS_WRITE,
            P.APPOINTMENTS_READ,
            P.PAYMENT_LINKS,
        }
    ),
    Role.SALES_REP: frozenset(
        _EVERY_TENANT_ROLE
        | {
            P.CATALOG_READ,
            P.CUSTOMERS_READ,
            P.CUSTOMERS_WRITE,
            P.SALES_READ_OWN,
            P.SALES_WRITE_OWN,
            P.LEADS_READ_OWN,
            P.LEADS_WRITE,
            # "View reports: limited" (the seed): the dashboard, with the rep's own numbers only.
            P.ANALYTICS_READ,
            P.APPOINTMENTS_READ,
            P.APPOINTMENTS_WRITE,
        }
    ),
    Role.VIEWER: frozenset(_EVERY_TENANT_ROLE | _READ_OPERATIONS),
    Role.PLATFORM_ADMIN: frozenset(_OWN_PROFILE | {P.PLATFORM_TENANTS, P.PLATFORM_MARKETPLACE, P.PLATFORM_QUEUES}),
}


def permissions_of(role: Role) -> frozenset[Permission]:
    """What ``role`` may do."""
    return MATRIX[role]
