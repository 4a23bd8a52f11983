"""Tenants: the businesses using BTRIX, their settings, plan, modules and status."""
