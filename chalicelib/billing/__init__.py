"""Billing: BTRIX's own subscriptions (a tenant paying for its plan through Stripe or MercadoPago)."""
