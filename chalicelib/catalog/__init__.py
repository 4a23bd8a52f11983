"""The catalog: products and services with generated codes, categories and brands."""
