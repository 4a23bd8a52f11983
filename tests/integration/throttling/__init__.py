"""Per-tenant request throttling."""
