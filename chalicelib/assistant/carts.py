"""A customer's cart in a conversation: an empty one to start, the stored one loaded, kept a week after each change."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.assistant import store
from chalicelib.assistant.models import CartRecord
from chalicelib.core import clock

__all__ = ["CART_TTL", "load_cart", "new_cart", "save_cart"]

CART_TTL = timedelta(days=7)


def new_cart(tenant_id: str, conversation_id: str) -> CartRecord:
    """An empty cart."""
    return CartRecord(tenant_id=tenant_id, conversation_id=conversation_id, updated_at=clock.now_iso())


def load_cart(tenant_id: str, conversation_id: str) -> CartRecord:
    """The conversation's cart, or an empty one."""
    return store.get_cart(tenant_id, conversation_id) or new_cart(tenant_id, conversation_id)


def save_cart(cart: CartRecord) -> CartRecord:
    """Keep the cart (a week from now)."""
    saved = cart.model_copy(update={"updated_at": clock.now_iso(), "version": cart.version + 1})
    store.put_cart(saved, int((clock.now() + CART_TTL).timestamp()))
    return saved
