"""Customers of a tenant: contacts, documents, consents, order statistics."""
