"""Audit log: who changed what, when, from where; written in the same transaction as the change."""
