"""Inventory: stock per product, movements, reservations for orders, low-stock alerts."""
