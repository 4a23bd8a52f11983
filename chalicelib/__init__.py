"""BTRIX application package: capabilities under one Chalice app."""
