"""Twilio adapter (SMS and WhatsApp through a tenant's own account)."""
