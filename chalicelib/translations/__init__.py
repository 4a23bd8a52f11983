"""Per-tenant translations: a tenant's own texts in each supported locale, over the system's catalogues."""
