"""Rappi restaurants API adapter (orders arrive by its webhook)."""
