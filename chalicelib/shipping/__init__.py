"""Shipping: carrier quotes for an order, the label bought with one, and its tracking moving the order."""
