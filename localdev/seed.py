"""Demo data for ``make run``: three tenants with a user per role, and a platform operator (idempotent).

Everything goes through the same services the API uses (signup, invitation, acceptance), so the demo
tenants are exactly what a real signup produces.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from chalicelib.access.permissions import TENANT_ROLES, Role
from chalicelib.access.principal import Principal
from chalicelib.auth import service as auth
from chalicelib.auth.models import SetPasswordRequest, SignupAdmin, SignupRequest
from chalicelib.core.api import RequestMeta
from chalicelib.notifications.outbox import list_messages
from chalicelib.tenants.models import BusinessType
from chalicelib.users import service as users
from chalicelib.users import store as users_store
from chalicelib.users.models import InviteUserRequest

__all__ = ["DEMO_PASSWORD", "DemoLogin", "seed"]

DEMO_PASSWORD = "btrix-demo-2026"
OPERATOR_EMAIL = "operator@btrix.example.com"
_META = RequestMeta(request_id="seed", source_ip="127.0.0.1", user_agent="localdev.seed")


@dataclass(frozen=True)
class DemoTenant:
    """One demo business."""

    name: str
    business_type: BusinessType
    locale: str
    currency: str
    country: str
    time_zone: str
    domain: str


DEMO_TENANTS = (
    DemoTenant(
        "Cantina da Nonna", BusinessType.RESTAURANT, "pt-BR", "BRL", "BR", "America/Sao_Paulo", "cantina.example.com"
    ),
    DemoTenant(
        "Spoke & Chain Bikes",
        BusinessType.BIKE_SHOP,
        "en-US",
        "USD",
        "US",
        "America/New_York",
        "spokechain.example.com",
    ),
    DemoTenant(
        "Nordisk Salg ApS", BusinessType.SERVICES, "da-DK", "DKK", "DK", "Europe/Copenhagen", "nordisksalg.example.com"
    ),
)


@dataclass(frozen=True)
class DemoLogin:
    """A login the banner prints."""

    tenant: str
    role: str
    email: str


def _email(role: Role, domain: str) -> str:
    return f"{role.value.lower().replace('_', '-')}@{domain}"


def _seed_tenant(demo: DemoTenant) -> None:
    admin_email = _email(Role.ADMIN, demo.domain)
    if users_store.find_login(users_store.email_route_key(admin_email)) is not None:
        return
    created = auth.signup(
        SignupRequest(
            company_name=demo.name,
            business_type=demo.business_type,
            locale=demo.locale,
            time_zone=demo.time_zone,
            currency=demo.currency,
            country=demo.country,
            plan_id="corporativo",
            admin=SignupAdmin(name=f"{demo.name} Admin", email=admin_email, password=DEMO_PASSWORD),
        ),
        _META,
    )
    admin = Principal(
        user_id=created.user.id,
        tenant_id=created.tenant.id,
        role=Role.ADMIN,
        email=admin_email,
        request_id="seed",
        source_ip="127.0.0.1",
    )
    for role in TENANT_ROLES:
        if role is Role.ADMIN:
            continue
        email = _email(role, demo.domain)
        users.invite_user(admin, InviteUserRequest(email=email, name=f"{role.value.title()} Demo", role=role))
        link = next(m for m in list_messages(admin.tenant_id) if m.to == email).variables["link"]
        token = parse_qs(urlsplit(str(link)).query)["token"][0]
        auth.accept_invitation(SetPasswordRequest(token=token, password=DEMO_PASSWORD), _META)


def seed() -> list[DemoLogin]:
    """Create whatever demo data is missing; returns the logins to print."""
    for demo in DEMO_TENANTS:
        _seed_tenant(demo)
    if users_store.find_login(users_store.email_route_key(OPERATOR_EMAIL)) is None:
        auth.create_platform_admin(OPERATOR_EMAIL, "Demo Operator", DEMO_PASSWORD)
    logins = [DemoLogin(d.name, r.value, _email(r, d.domain)) for d in DEMO_TENANTS for r in TENANT_ROLES]
    return [*logins, DemoLogin("(platform)", Role.PLATFORM_ADMIN.value, OPERATOR_EMAIL)]
