"""Google Calendar adapter (OAuth refresh token, one calendar)."""
