"""Pagar.me (API v5): payment links through its hosted checkout, refunds, and the webhooks that report them."""
