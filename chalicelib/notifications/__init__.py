"""Notifications: messages to people on every channel."""
