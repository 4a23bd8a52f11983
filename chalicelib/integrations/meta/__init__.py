"""Meta adapter (WhatsApp Cloud API through a tenant's own number and token)."""
