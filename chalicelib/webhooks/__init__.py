"""Outgoing webhooks (Standard Webhooks): the event catalog, tenants' endpoints, signed deliveries with retries."""
