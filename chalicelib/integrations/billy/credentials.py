"""The credentials a tenant gives to connect Billy: the schema they are validated with, and what of them
may be shown."""

from __future__ import annotations

from pydantic import Field, SecretStr

from chalicelib.integrations.credentials import Credentials

__all__ = ["BillyCredentials"]


class BillyCredentials(Credentials):
    """A Billy company's API access token."""

    access_token: SecretStr = Field(min_length=20, max_length=200)
