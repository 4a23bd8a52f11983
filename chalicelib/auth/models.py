"""Authentication models: signup, login, tokens, the current user, one-time codes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import EmailStr, Field

from chalicelib.access.permissions import Module, Permission
from chalicelib.core.models import ApiModel
from chalicelib.core.references import NotAReference
from chalicelib.core.validation import CountryCode, CurrencyCode, E164Phone, LocaleTag, TimeZoneName
from chalicelib.plans.catalog import DEFAULT_PLAN_ID
from chalicelib.tenants.models import BusinessType, Tenant
from chalicelib.users.models import User

__all__ = [
    "CodeSent",
    "JwkSet",
    "LoginRequest",
    "Me",
    "RefreshRequest",
    "SetPasswordRequest",
    "SignupAdmin",
    "SignupRequest",
    "SignupResponse",
    "TokenPair",
    "VerifyCodeRequest",
]


class SignupAdmin(ApiModel):
    """The first user of a new tenant, who becomes its ADMIN."""

    name: str = Field(min_length=2, max_length=120)
    email: EmailStr
    password: str = Field(min_length=1, max_length=256)
    cpf: str | None = None
    whatsapp_number: E164Phone | None = None


class SignupRequest(ApiModel):
    """Create a tenant and its first ADMIN."""

    company_name: str = Field(min_length=2, max_length=120)
    business_type: BusinessType
    locale: LocaleTag = "pt-BR"
    time_zone: TimeZoneName = "America/Sao_Paulo"
    currency: CurrencyCode = "BRL"
    country: CountryCode = "BR"
    document: str | None = Field(default=None, description="CNPJ when the country is BR")
    whatsapp_number: E164Phone | None = None
    plan_id: Annotated[
        str, NotAReference("a plan of the platform's catalog (GET /plans), not a record of a tenant")
    ] = DEFAULT_PLAN_ID
    admin: SignupAdmin


class TokenPair(ApiModel):
    """An access token (JWT, short-lived) and the refresh token that renews it (opaque, single use)."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


class SignupResponse(ApiModel):
    """The new tenant, its ADMIN, and a session for them."""

    tenant: Tenant
    user: User
    tokens: TokenPair


class LoginRequest(ApiModel):
    """Email or CPF, and the password."""

    identifier: str = Field(min_length=3, max_length=254, description="Email address or CPF")
    password: str = Field(min_length=1, max_length=256)


class RefreshRequest(ApiModel):
    """The refresh token to use (it is used up; the answer carries the next one)."""

    refresh_token: str = Field(min_length=1, max_length=512)


class SetPasswordRequest(ApiModel):
    """Accept an invitation: the one-time token from the invitation and the new password."""

    token: str = Field(min_length=1, max_length=512)
    password: str = Field(min_length=1, max_length=256)


class VerifyCodeRequest(ApiModel):
    """The 6-digit code sent to the user's WhatsApp."""

    code: str = Field(pattern=r"^\d{6}$")


class CodeSent(ApiModel):
    """Where a one-time code went and how long it is valid."""

    channel: Literal["whatsapp"]
    to: str
    expires_in: int


class Me(ApiModel):
    """The current user, their tenant, and what they may do."""

    user: User
    tenant: Tenant
    permissions: list[Permission]
    modules: list[Module]


class JwkSet(ApiModel):
    """Public keys that verify access tokens (RFC 7517)."""

    model_config = ApiModel.model_config | {"extra": "allow"}

    keys: list[dict[str, Any]]
