"""Integrations registry: each tenant's provider credentials (encrypted, never shown), health and sync logs."""
