"""iFood Merchant API adapter."""
