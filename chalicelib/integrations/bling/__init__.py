"""Bling (ERP) API v3: OAuth 2.0 authorization code and the REST client."""
