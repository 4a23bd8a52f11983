"""Tiny ERP (API 2.0): the REST client over the company's API token."""
