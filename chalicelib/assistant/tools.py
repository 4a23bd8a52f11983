"""The assistant's tools, the same for both brains: search_products, get_product, add_to_cart, remove_from_cart,
view_cart, checkout, order_status, handoff_to_human.

Each tool validates its arguments with pydantic (a wrong call is a ``ToolError`` the brain tells the model or the
customer, never executed), runs as the tenant through the owning capabilities' services with the assistant's own
service principal (role AGENT: reads the catalog, creates customers, orders and payment links, reads the orders it
made), and returns only catalog data: names, codes, prices, the cart, the order's number, total, status and link.
A failure inside a service becomes a ``ToolError`` with a sentence for the customer; its detail goes to the log only.
Every product and price a tool returned is noted in ``Toolbox.seen_*`` (what the LLM brain may state this turn, and
which price goes with which product).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from chalicelib.access.permissions import Module, Role
from chalicelib.access.principal import Principal
from chalicelib.assistant.models import (
    AddToCartArgs,
    CartLine,
    CartRecord,
    CheckoutArgs,
    GetProductArgs,
    HandoffArgs,
    Language,
    NoArgs,
    OrderStatusArgs,
    RemoveFromCartArgs,
    SearchProductsArgs,
)
from chalicelib.assistant.texts import local_expiry, say
from chalicelib.catalog import service as catalog
from chalicelib.catalog.models import Product, ProductListQuery
from chalicelib.core import clock
from chalicelib.core.errors import AppError, InvalidInput, NotFound
from chalicelib.core.models import ApiModel
from chalicelib.core.money import Money
from chalicelib.core.observability import logger

__all__ = ["ASSISTANT_ACTOR_ID", "TOOLS", "ToolError", "Toolbox", "service_principal"]

ASSISTANT_ACTOR_ID = "assistant"


class ToolError(Exception):
    """A tool call that did not happen or failed: ``say`` is what the customer may read, ``detail`` what the model
    is told (never a service's internals)."""

    def __init__(self, say: str, detail: str) -> None:
        super().__init__(detail)
        self.say = say
        self.detail = detail


def service_principal(tenant_id: str) -> Principal:
    """Who the tools act as: the assistant's own principal in the tenant (role AGENT, the modules it uses)."""
    modules = frozenset({Module.CATALOG, Module.ORDERS, Module.PAYMENTS, Module.INVENTORY, Module.ASSISTANT})
    return Principal(
        user_id=ASSISTANT_ACTOR_ID,
        tenant_id=tenant_id,
        role=Role.AGENT,
        email="assistant@system.invalid",
        modules=modules,
    )


def _money(value: Money) -> dict[str, str]:
    return {"amount": str(value.amount), "currency": value.currency}


@dataclass
class Toolbox:
    """The tools of one conversation's turn: the tenant, the customer (``wa_id``), the language, the cart."""

    tenant_id: str
    conversation_id: str
    wa_id: str
    contact_name: str | None
    language: Language
    cart: CartRecord
    principal: Principal = field(init=False)
    seen_prices: set[Decimal] = field(default_factory=set)
    seen_products: set[str] = field(default_factory=set)
    # Each product a tool returned (its name folded) and the amounts it was shown with: its price, a line's total.
    seen_offers: dict[str, set[Decimal]] = field(default_factory=dict)
    last_results: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    handover: str | None = None
    cart_changed: bool = False
    # A turn run again for a customer message whose effects the cart already holds (its job was redelivered after
    # the cart was saved): the cart tools answer with the cart as it is and change nothing.
    replay: bool = False

    def __post_init__(self) -> None:
        self.principal = service_principal(self.tenant_id)

    # --- helpers ------------------------------------------------------------------------------------------------

    def _locale(self) -> str:
        return self.language.replace("-", "_")

    def price(self, value: Money) -> str:
        """A price as the customer reads it (``R$ 12,50``, a plain space: WhatsApp shows it as typed)."""
        return value.format(self._locale()).replace("\xa0", " ")

    def _offer(self, name: str, *amounts: Decimal) -> None:
        self.seen_prices.update(amounts)
        self.seen_products.add(name.casefold())
        self.seen_offers.setdefault(name.casefold(), set()).update(amounts)

    def _saw(self, product: Product) -> dict[str, Any]:
        self._offer(product.name, product.price.amount)
        return {
            "productId": product.id,
            "code": product.code,
            "name": product.name,
            "price": _money(product.price),
            "priceText": self.price(product.price),
            "description": (product.description or "")[:300],
        }

    def _product(self, product_id: str) -> Product:
        try:
            product = catalog.find_product(self.tenant_id, product_id)
        except (AppError, ValueError):  # an id that cannot be a key names nothing
            product = None
        if product is None or not product.active:
            raise ToolError(say(self.language, "unknown_product"), f"no active product {product_id}")
        return product

    def _available(self, product: Product, quantity: int) -> bool:
        from chalicelib.inventory import service as inventory

        try:
            inventory.check_available(self.tenant_id, [(product.id, quantity)])
        except InvalidInput:
            return False
        return True

    def total(self) -> Money | None:
        """The cart's total at the prices it was filled with (None: empty)."""
        if not self.cart.lines:
            return None
        total = Money.of(Decimal(0), self.cart.lines[0].unit_price.currency)
        for line in self.cart.lines:
            total = total + line.unit_price * line.quantity
        return total

    def cart_view(self) -> dict[str, Any]:
        """The cart as the tools show it."""
        total = self.total()
        for line in self.cart.lines:
            self._offer(line.name, line.unit_price.amount, (line.unit_price * line.quantity).amount)
        if total is not None:
            self.seen_prices.add(total.amount)
        return {
            "lines": [
                {
                    "productId": line.product_id,
                    "code": line.code,
                    "name": line.name,
                    "quantity": line.quantity,
                    "unitPrice": _money(line.unit_price),
                    "unitPriceText": self.price(line.unit_price),
                }
                for line in self.cart.lines
            ],
            "total": _money(total) if total else None,
            "totalText": self.price(total) if total else None,
        }

    # --- the tools ----------------------------------------------------------------------------------------------

    def search_products(self, args: SearchProductsArgs) -> dict[str, Any]:
        """Active products whose name starts with the query (the catalog's own order)."""
        query = ProductListQuery.model_validate({"q": args.query or None, "active": True, "limit": args.limit})
        page = catalog.list_products(self.principal, query)
        return {"products": [self._saw(p) for p in page.items]}

    def get_product(self, args: GetProductArgs) -> dict[str, Any]:
        """One active product, by id or by code."""
        if args.product_id:
            return self._saw(self._product(args.product_id))
        if args.code:
            page = catalog.list_products(self.principal, ProductListQuery.model_validate({"code": args.code}))
            if page.items and page.items[0].active:
                return self._saw(page.items[0])
        raise ToolError(say(self.language, "unknown_product"), "name a productId or a code of an active product")

    def add_to_cart(self, args: AddToCartArgs) -> dict[str, Any]:
        """Add a quantity of an active product that has it in stock (the cart's lines of it counted too)."""
        product = self._product(args.product_id)
        if self.replay:
            self._saw(product)
            return {"added": {"name": product.name, "quantity": args.quantity}, "cart": self.cart_view()}
        already = sum(line.quantity for line in self.cart.lines if line.product_id == product.id)
        if not self._available(product, already + args.quantity):
            raise ToolError(say(self.language, "unavailable", name=product.name), f"{product.name}: not in stock")
        lines = [line for line in self.cart.lines if line.product_id != product.id]
        lines.append(
            CartLine(
                product_id=product.id,
                code=product.code,
                name=product.name,
                quantity=already + args.quantity,
                unit_price=product.price,
            )
        )
        self.cart = self.cart.model_copy(update={"lines": lines})
        self.cart_changed = True
        self._saw(product)
        return {"added": {"name": product.name, "quantity": args.quantity}, "cart": self.cart_view()}

    def remove_from_cart(self, args: RemoveFromCartArgs) -> dict[str, Any]:
        """Take a quantity (or all) of a product out of the cart."""
        if self.replay:
            return {"removed": {"name": self._product(args.product_id).name}, "cart": self.cart_view()}
        lines = []
        removed = None
        for line in self.cart.lines:
            if line.product_id == args.product_id:
                removed = line
                left = 0 if args.quantity is None else line.quantity - args.quantity
                if left > 0:
                    lines.append(line.model_copy(update={"quantity": left}))
            else:
                lines.append(line)
        if removed is None:
            raise ToolError(say(self.language, "unknown_product"), f"product {args.product_id} is not in the cart")
        self.cart = self.cart.model_copy(update={"lines": lines})
        self.cart_changed = True
        return {"removed": {"name": removed.name}, "cart": self.cart_view()}

    def view_cart(self, args: NoArgs) -> dict[str, Any]:
        """The cart."""
        return self.cart_view()

    def _customer_id(self) -> str:
        from chalicelib.customers import service as customers
        from chalicelib.customers.models import CreateCustomerRequest

        phone = f"+{self.wa_id}"
        found = customers.find_customer_id(self.tenant_id, phone=phone)
        if found is not None:
            return found
        name = (self.contact_name or "").strip() or f"WhatsApp {phone}"
        body = CreateCustomerRequest.model_validate({"name": name[:120], "phone": phone})
        return customers.create_customer(self.principal, body, f"assistant-customer-{self.wa_id}").id

    def checkout(self, args: CheckoutArgs) -> dict[str, Any]:
        """The cart becomes an order of the customer (channel whatsapp), and the order gets a payment link."""
        from chalicelib.orders import service as orders
        from chalicelib.orders.models import CreateOrderRequest
        from chalicelib.payments import service as payments

        if self.replay and self.cart.order_id and self.cart.payment_url:
            return self._placed_again()
        if not self.cart.lines:
            raise ToolError(say(self.language, "cart_empty"), "the cart is empty")
        for line in self.cart.lines:
            product = self._product(line.product_id)
            if not self._available(product, line.quantity):
                raise ToolError(say(self.language, "unavailable", name=product.name), f"{product.name}: not in stock")
        body = CreateOrderRequest.model_validate(
            {
                "customerId": self._customer_id(),
                "channel": "whatsapp",
                "items": [{"productId": line.product_id, "quantity": line.quantity} for line in self.cart.lines],
                "notes": "WhatsApp shop assistant",
            }
        )
        key = f"assistant-{self.conversation_id}-{self.cart.version}"
        order = orders.create_order(self.principal, body, key)
        link = payments.create_link_for(self.tenant_id, order.id, actor=self.principal)
        self.cart = self.cart.model_copy(
            update={
                "lines": [],
                "order_id": order.id,
                "order_number": order.number,
                "payment_url": link.url,
                "link_expires_at": link.valid_until,
                "checked_out_at": clock.now_iso(),
            }
        )
        self.cart_changed = True
        self.seen_prices.add(order.totals.total.amount)
        return {
            "orderId": order.id,
            "number": order.number,
            "total": _money(order.totals.total),
            "totalText": self.price(order.totals.total),
            "paymentUrl": link.url,
            "validUntil": link.valid_until,
            "validUntilText": local_expiry(link.valid_until, self.language, self.tenant_id),
        }

    def _placed_again(self) -> dict[str, Any]:
        """What the checkout of a redelivered turn placed already: the cart's last order and its link."""
        from chalicelib.orders import service as orders

        order = orders.get_order(self.principal, str(self.cart.order_id))
        self.seen_prices.add(order.totals.total.amount)
        return {
            "orderId": order.id,
            "number": order.number,
            "total": _money(order.totals.total),
            "totalText": self.price(order.totals.total),
            "paymentUrl": self.cart.payment_url,
            "validUntil": self.cart.link_expires_at,
        }

    def order_status(self, args: OrderStatusArgs) -> dict[str, Any]:
        """An order the assistant made for this customer (the last one when none is named)."""
        from chalicelib.orders import service as orders

        order_id = self.cart.order_id
        if order_id is None or args.order_id not in (None, order_id):  # only this customer's order
            raise ToolError(say(self.language, "no_order"), "this customer has no such order")
        order = orders.get_order(self.principal, order_id)
        self.seen_prices.add(order.totals.total.amount)
        return {
            "orderId": order.id,
            "number": order.number,
            "status": order.status,
            "statusText": self._status_label(order.status),
            "paymentStatus": order.payment_status,
            "paymentStatusText": say(self.language, f"payment_{order.payment_status}"),
            "total": _money(order.totals.total),
            "totalText": self.price(order.totals.total),
        }

    def _status_label(self, status: str) -> str:
        """An order status as the customer reads it: the tenant's own label in the assistant's language
        (``PUT /translations/{locale}``) over its order workflow's, by the workflows' fallback chain."""
        from chalicelib.workflows import service as workflows

        reader = replace(self.principal, locale=self.language)
        try:
            return workflows.get_workflow(reader, "order").status_labels.get(status, status)
        except AppError:  # the labels are a nicety: the code itself is still true
            return status

    def handoff_to_human(self, args: HandoffArgs) -> dict[str, Any]:
        """A person takes the chat (after this turn)."""
        self.handover = args.reason or "asked for a person"
        return {"handedOver": True}

    # --- dispatch -----------------------------------------------------------------------------------------------

    def run(self, name: str, arguments: str | dict[str, Any] | None) -> dict[str, Any]:
        """Run tool ``name`` with ``arguments`` (a JSON string, as models send them, or an object); a wrong name,
        invalid JSON or arguments, or a failure are a ``ToolError``."""
        tool = TOOLS.get(name)
        if tool is None:
            raise ToolError(say(self.language, "tool_failed"), f"there is no tool {name!r}; use one of {sorted(TOOLS)}")
        model, run = tool
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments or "{}")
            except ValueError:
                raise ToolError(say(self.language, "tool_failed"), "the arguments are not valid JSON") from None
        try:
            parsed = model.model_validate(arguments or {})
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ToolError(say(self.language, "tool_failed"), f"invalid arguments: {problems}") from None
        try:
            result = run(self, parsed)
        except ToolError:
            raise
        except NotFound:
            raise ToolError(say(self.language, "unknown_product"), "not found") from None
        except AppError as exc:  # the customer gets a sentence, the log the detail; internals never leave
            logger.warning("assistant tool failed", extra={"tool": name, "error": str(exc.detail)[:300]})
            raise ToolError(say(self.language, "tool_failed"), f"{name} failed; tell the customer to retry") from None
        self.last_results.append((name, result))
        return result


def _tool(model: type[ApiModel], run: Callable[[Toolbox, Any], dict[str, Any]]) -> tuple[type[ApiModel], Any]:
    return model, run


TOOLS: dict[str, tuple[type[ApiModel], Callable[[Toolbox, Any], dict[str, Any]]]] = {
    "search_products": _tool(SearchProductsArgs, Toolbox.search_products),
    "get_product": _tool(GetProductArgs, Toolbox.get_product),
    "add_to_cart": _tool(AddToCartArgs, Toolbox.add_to_cart),
    "remove_from_cart": _tool(RemoveFromCartArgs, Toolbox.remove_from_cart),
    "view_cart": _tool(NoArgs, Toolbox.view_cart),
    "checkout": _tool(CheckoutArgs, Toolbox.checkout),
    "order_status": _tool(OrderStatusArgs, Toolbox.order_status),
    "handoff_to_human": _tool(HandoffArgs, Toolbox.handoff_to_human),
}
