"""Stripe adapter (payment links through Checkout Sessions)."""
