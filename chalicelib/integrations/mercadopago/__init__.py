"""MercadoPago adapter (payment links through preferences)."""
