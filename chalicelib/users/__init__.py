"""Users of a tenant: invitations, roles, deactivation, WhatsApp verification."""
