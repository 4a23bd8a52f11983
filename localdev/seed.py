"""Demo data for ``make run``: three tenants with a user per role (each with a browser subscribed to push on the
fake Web Push service, when there is one), and a platform operator; the restaurant gets a menu and orders in several
statuses, the bike shop services, two mechanics and appointments, the Danish sales company (Tekup sales tracking,
da-DK) services, customers, sales in every status and leads, and the B2B reseller (StockTech marketplace and
Lucrum finance, pt-BR, CNPJ) whose listings the bike shop buys from; both keep their books in Lucrum (idempotent).

Everything goes through the same services the API uses (signup, the operator's plan change, invitation,
acceptance), so the demo tenants are exactly what a real signup produces. The sales company's data is made in
``seed_sales.py``, the books in ``seed_books.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from chalicelib.access.permissions import TENANT_ROLES, Role
from chalicelib.access.principal import Principal
from chalicelib.appointments import service as appointments
from chalicelib.appointments.models import WEEKDAYS, BookAppointmentRequest, CreateResourceRequest
from chalicelib.auth import service as auth
from chalicelib.auth.models import SetPasswordRequest, SignupAdmin, SignupRequest
from chalicelib.catalog import service as catalog
from chalicelib.catalog.models import CreateGroupRequest, CreateProductRequest, Product, ProductListQuery
from chalicelib.catalog.store import CATEGORIES
from chalicelib.core.api import RequestMeta
from chalicelib.core.money import Money
from chalicelib.customers import service as customers
from chalicelib.customers.models import CreateCustomerRequest
from chalicelib.inventory import service as inventory
from chalicelib.inventory.models import MovementRequest
from chalicelib.marketplace import service as marketplace
from chalicelib.marketplace.models import (
    CreateListingRequest,
    CreateMarketGroupRequest,
    MarketGroup,
    MarketGroupKind,
    MarketOrderRequest,
)
from chalicelib.notifications import service as notifications
from chalicelib.notifications.models import PushSubscriptionRequest
from chalicelib.notifications.outbox import list_messages
from chalicelib.orders import service as orders
from chalicelib.orders.models import CreateOrderRequest, TransitionRequest
from chalicelib.tenants import service as tenants
from chalicelib.tenants.models import BusinessType, ChangePlanRequest
from chalicelib.users import service as users
from chalicelib.users.models import InviteUserRequest
from localdev.seed_books import BIKE_SHOP_BOOKS, RESELLER_BOOKS, seed_books
from localdev.seed_sales import seed_sales_company

__all__ = [
    "BIKE_SHOP",
    "DEMO_PASSWORD",
    "DEMO_TENANTS",
    "RESELLER_DEMO",
    "SALES_DEMO",
    "DemoLogin",
    "DemoTenant",
    "demo_admin",
    "seed",
]

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
    document: str | None = None
    whatsapp_number: str | None = None


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
    DemoTenant(
        "Avelar Distribuidora de Peças Ltda",
        BusinessType.B2B_RESELLER,
        "pt-BR",
        "BRL",
        "BR",
        "America/Sao_Paulo",
        "avelar.example.com",
        document="11.222.333/0001-81",
        whatsapp_number="+5511940028922",
    ),
)


SALES_DEMO = DEMO_TENANTS[2]
BIKE_SHOP = DEMO_TENANTS[1]
RESELLER_DEMO = DEMO_TENANTS[3]


@dataclass(frozen=True)
class DemoLogin:
    """A login the banner prints."""

    tenant: str
    role: str
    email: str


def _email(role: Role, domain: str) -> str:
    return f"{role.value.lower().replace('_', '-')}@{domain}"


def _browser_keys() -> dict[str, str]:
    """The keys a browser's push subscription carries (``p256dh``: its P-256 public key; ``auth``: 16 bytes)."""
    import base64
    import secrets

    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    point = (
        ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    )

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return {"p256dh": b64(point), "auth": b64(secrets.token_bytes(16))}


def _subscribe_push(principal: Principal, push_service: str) -> None:
    """The user's browser subscribed to push on ``push_service`` (the fake Web Push service of ``make run``), so the
    demo's push notifications (a new order to the admins …) are delivered there, not failed for want of one."""
    endpoint = f"{push_service}/push/{principal.user_id}"
    subscription = PushSubscriptionRequest.model_validate({"endpoint": endpoint, "keys": _browser_keys()})
    notifications.subscribe_push(principal, subscription)


def _principal(email: str) -> Principal:
    user = users.find_login(email, field="email")
    if user is None:
        raise LookupError(f"no demo user {email}")
    return Principal(user_id=user.id, tenant_id=user.tenant_id, role=user.role, email=user.email, request_id="seed")


def _seed_tenant(demo: DemoTenant, push_service: str | None) -> None:
    admin_email = _email(Role.ADMIN, demo.domain)
    if users.find_login(admin_email, field="email") is not None:
        return
    created = auth.signup(
        SignupRequest(
            company_name=demo.name,
            business_type=demo.business_type,
            locale=demo.locale,
            time_zone=demo.time_zone,
            currency=demo.currency,
            country=demo.country,
            document=demo.document,
            whatsapp_number=demo.whatsapp_number,
            admin=SignupAdmin(name=f"{demo.name} Admin", email=admin_email, password=DEMO_PASSWORD),
        ),
        _META,
    )
    # A signup gets the default plan; the platform operator grants the demo every module, as in production.
    tenants.change_plan(_operator(), created.tenant.id, ChangePlanRequest(plan_id="corporativo"))
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
    if push_service is not None:
        for role in TENANT_ROLES:
            _subscribe_push(_principal(_email(role, demo.domain)), push_service)


def _operator() -> Principal:
    """The demo's platform operator (created the first time), as a principal to call the services with."""
    user = users.find_login(OPERATOR_EMAIL, field="email")
    if user is None:
        user = auth.create_platform_admin(OPERATOR_EMAIL, "Demo Operator", DEMO_PASSWORD)
    return Principal(user_id=user.id, tenant_id=user.tenant_id, role=user.role, email=user.email, request_id="seed")


def demo_admin(demo: DemoTenant) -> Principal:
    """The ADMIN of a seeded demo tenant, as a principal to call the services with."""
    return _principal(_email(Role.ADMIN, demo.domain))


def _money(amount: str, demo: DemoTenant) -> Money:
    return Money.of(amount, demo.currency)


def _product(admin: Principal, demo: DemoTenant, name: str, price: str, **fields: Any) -> Product:
    body = CreateProductRequest.model_validate({"name": name, "price": _money(price, demo), **fields})
    return catalog.create_product(admin, body, None)


def _stock(admin: Principal, product: Product, units: int) -> None:
    inventory.record_movement(admin, product.id, MovementRequest(type="in", quantity=units, reason="demo"), None)


def _seed_restaurant(demo: DemoTenant) -> None:
    """A menu, two customers, and orders in several statuses."""
    admin = demo_admin(demo)
    pizzas = catalog.create_group(admin, CATEGORIES, CreateGroupRequest(name="Pizzas"), None)
    drinks = catalog.create_group(admin, CATEGORIES, CreateGroupRequest(name="Bebidas"), None)
    menu = [
        _product(admin, demo, "Pizza Margherita", "39.90", kind="product", taxRate="10", categoryId=pizzas.id),
        _product(admin, demo, "Pizza Calabresa", "42.90", kind="product", taxRate="10", categoryId=pizzas.id),
        _product(admin, demo, "Guaraná 350 ml", "6.50", kind="product", taxRate="17.5", categoryId=drinks.id),
        _product(admin, demo, "Suco de laranja", "9.90", kind="product", taxRate="10", categoryId=drinks.id),
    ]
    for item in menu:
        _stock(admin, item, 40)
    maria = customers.create_customer(
        admin,
        CreateCustomerRequest(name="Maria Souza", email="maria@cantina.example.com", phone="+5511987650001"),
        None,
    )
    joao = customers.create_customer(admin, CreateCustomerRequest(name="João Lima", phone="+5511987650002"), None)
    # PENDING, CONFIRMED, PREPARING and DELIVERED: a kitchen screen has something in every column.
    walk = [[], ["CONFIRMED"], ["CONFIRMED", "PREPARING"], ["CONFIRMED", "PREPARING", "READY", "DELIVERED"]]
    for n, steps in enumerate(walk):
        customer = (maria, joao)[n % 2]
        lines = [{"productId": menu[n % 2].id, "quantity": 1 + n % 2}, {"productId": menu[2 + n % 2].id, "quantity": 2}]
        body = CreateOrderRequest.model_validate({"items": lines, "customerId": customer.id, "channel": "pos"})
        order = orders.create_order(admin, body, None)
        for step in steps:
            order = orders.transition_order(admin, order.id, TransitionRequest(to=step, version=order.version))


def _seed_bike_shop(demo: DemoTenant) -> None:
    """Services, parts, two mechanics with their hours, and appointments."""
    admin = demo_admin(demo)
    tune_up = _product(admin, demo, "Full tune-up", "89.00", kind="service", durationMinutes=90)
    flat = _product(admin, demo, "Flat tire repair", "19.00", kind="service", durationMinutes=30)
    tube = _product(admin, demo, "Inner tube 29er", "12.50", kind="product", taxRate="8.875")
    _stock(admin, tube, 25)
    weekdays = {day: [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "18:00"}] for day in WEEKDAYS[:5]}
    mechanics = [
        appointments.create_resource(
            admin,
            CreateResourceRequest.model_validate(
                {
                    "name": name,
                    "kind": "staff",
                    "workingHours": {**weekdays, "sat": [{"start": "10:00", "end": "14:00"}]},
                }
            ),
        )
        for name in ("Sam (mechanic)", "Alex (mechanic)")
    ]
    rider = customers.create_customer(
        admin, CreateCustomerRequest(name="Jordan Rider", email="jordan@spokechain.example.com"), None
    )
    zone = ZoneInfo(demo.time_zone)
    day = datetime.now(zone).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    for mechanic, service, hour in ((mechanics[0], tune_up, 10), (mechanics[1], flat, 14)):
        start = datetime(day.year, day.month, day.day, hour, tzinfo=zone)
        body = BookAppointmentRequest(
            resource_id=mechanic.id, service_id=service.id, starts_at=start, customer_id=rider.id
        )
        appointments.book(admin, body)
    seed_books(admin, BIKE_SHOP_BOOKS)


def _member(demo: DemoTenant, role: Role) -> Principal:
    """The demo user of ``role`` in a seeded tenant, as a principal (the sales rep sells as itself)."""
    user = users.find_login(_email(role, demo.domain), field="email")
    if user is None:
        raise LookupError(f"the demo tenant {demo.name} has no {role.value}")
    tenant = tenants.load_tenant(user.tenant_id)
    return Principal(user.id, user.tenant_id, role, user.email, frozenset(tenant.modules), request_id="seed")


def _seed_sales(demo: DemoTenant) -> None:
    """The sales company's services, customers, sales and leads, each made by the demo user whose job it is."""
    admin, manager, rep = demo_admin(demo), _member(demo, Role.MANAGER), _member(demo, Role.SALES_REP)
    seed_sales_company(admin, manager, rep, demo.currency, demo.time_zone)


def _market_group(kind: MarketGroupKind, name: str) -> MarketGroup:
    """The operator's marketplace category or brand ``name`` (made the first time)."""
    found = marketplace.find_group(kind, name)
    return found or marketplace.create_group(_operator(), kind, CreateMarketGroupRequest(name=name))


def _seed_reseller(demo: DemoTenant) -> None:
    """The B2B reseller (StockTech + Lucrum): parts in stock published on the marketplace in the operator's
    categories and brands, its books; and the bike shop buying from it (its purchase confirmed by the seller)."""
    admin = demo_admin(demo)
    parts = _market_group("category", "Peças de bicicleta")
    tools = _market_group("category", "Ferramentas")
    shimano, avelar = _market_group("brand", "Shimano"), _market_group("brand", "Avelar")
    offer = [
        ("Câmara de ar aro 29", "18.90", 400, 10, parts, avelar),
        ("Corrente Shimano 12v", "219.00", 60, 2, parts, shimano),
        ("Pedal plataforma alumínio", "89.90", 120, 4, parts, avelar),
        ("Chave de raio profissional", "45.00", 35, 1, tools, avelar),
    ]
    listings = []
    for name, price, units, minimum, category, brand in offer:
        product = _product(admin, demo, name, price, kind="product", taxRate="12", description=f"{name} — atacado")
        _stock(admin, product, units)
        body = CreateListingRequest.model_validate(
            {
                "productId": product.id,
                "price": _money(price, demo),
                "minQuantity": minimum,
                "categoryId": category.id,
                "brandId": brand.id,
            }
        )
        listings.append(marketplace.create_listing(admin, body, None))
    seed_books(admin, RESELLER_BOOKS)
    # The bike shop buys tubes from the reseller; the reseller confirms.
    buyer = demo_admin(BIKE_SHOP)
    purchase = marketplace.place_order(buyer, MarketOrderRequest(listing_id=listings[0].id, quantity=20), None)
    sale = marketplace.get_sale(admin, purchase.id)
    marketplace.transition_sale(admin, sale.id, "CONFIRMED", "Separado para envio", sale.version)
    marketplace.place_order(buyer, MarketOrderRequest(listing_id=listings[1].id, quantity=2), None)


_COMMERCE = {
    BusinessType.RESTAURANT: _seed_restaurant,
    BusinessType.BIKE_SHOP: _seed_bike_shop,
    BusinessType.SERVICES: _seed_sales,
    BusinessType.B2B_RESELLER: _seed_reseller,
}


def _seed_commerce(demo: DemoTenant) -> None:
    seeder = _COMMERCE.get(demo.business_type)
    if seeder is None:
        return
    admin = demo_admin(demo)
    if catalog.list_products(admin, ProductListQuery(limit=1)).items:
        return  # seeded before: the demo data is there, or the person using it changed it
    seeder(demo)


def seed(push_service: str | None = None) -> list[DemoLogin]:
    """Create whatever demo data is missing; returns the logins to print. With ``push_service`` (the base URL of a
    Web Push service), every demo user's browser is subscribed to push there."""
    for demo in DEMO_TENANTS:
        _seed_tenant(demo, push_service)
        _seed_commerce(demo)
    logins = [DemoLogin(d.name, r.value, _email(r, d.domain)) for d in DEMO_TENANTS for r in TENANT_ROLES]
    return [*logins, DemoLogin("(platform)", Role.PLATFORM_ADMIN.value, OPERATOR_EMAIL)]
