"""Incoming provider webhooks: verified on the raw body, routed to a tenant, recorded once, enqueued."""
