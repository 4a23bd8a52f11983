"""A postal address: the value customers, tenants (where the business ships from) and shipping share.

It lives here rather than with customers so that reading a tenant (the guard, on every request) does not import the
customers capability's models.
"""

from __future__ import annotations

from pydantic import Field

from chalicelib.core.models import ApiModel
from chalicelib.core.validation import CountryCode

__all__ = ["Address"]


class Address(ApiModel):
    """A postal address; for BR the postal code (CEP) is 8 digits, shown as 01310-100."""

    street: str = Field(min_length=1, max_length=200)
    number: str | None = Field(default=None, max_length=20)
    complement: str | None = Field(default=None, max_length=100)
    district: str | None = Field(default=None, max_length=100)
    city: str = Field(min_length=1, max_length=100)
    state: str | None = Field(default=None, max_length=60)
    postal_code: str | None = Field(default=None, max_length=20)
    country: CountryCode
