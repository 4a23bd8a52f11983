"""Authentication models: signup, login, tokens, the current user, one-time codes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import EmailStr, Field

from chalicelib.access.permissions import Module, Permission
from chalicelib.core.models import ApiModel
from chalicelib.core.validation import CountryCode, CurrencyCode, E164Phone, LocaleTag, TimeZoneName
from chalicelib.tenants.models import BusinessType, Tenant
from chalicelib.users.models import User

__all__ = [
    "BrowserSession",
    "ChangePasswordRequest",
    "CodeSent",
    "JwkSet",
    "LoginRequest",
    "Me",
    "RefreshRequest",
    "SessionMode",
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
    """Create a tenant and its first ADMIN. The tenant starts on the default plan (see ``GET /plans``); a signup
    names no plan (``planId`` is refused, 422): only the platform operator changes a tenant's plan."""

    company_name: str = Field(min_length=2, max_length=120)
    business_type: BusinessType
    locale: LocaleTag = "pt-BR"
    time_zone: TimeZoneName = "America/Sao_Paulo"
    currency: CurrencyCode = "BRL"
    country: CountryCode = "BR"
    document: str | None = Field(default=None, description="CNPJ when the country is BR")
    whatsapp_number: E164Phone | None = None
    admin: SignupAdmin


class TokenPair(ApiModel):
    """An access token (JWT, short-lived) and the refresh token that renews it (opaque, single use)."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


class BrowserSession(ApiModel):
    """A browser session (cookie mode): the tokens are in HttpOnly cookies, not here. ``csrfToken`` goes in the
    ``X-CSRF-Token`` header of every state-changing request (and equals the CSRF cookie)."""

    token_type: Literal["Cookie"] = "Cookie"
    expires_in: int = Field(description="Seconds the access cookie's token is valid")
    refresh_expires_in: int
    csrf_token: str


SessionMode = Literal["bearer", "cookie"]


class SignupResponse(ApiModel):
    """The new tenant, its ADMIN, and a session for them."""

    tenant: Tenant
    user: User
    tokens: TokenPair


class LoginRequest(ApiModel):
    """Email or CPF, and the password."""

    identifier: str = Field(min_length=3, max_length=254, description="Email address or CPF")
    password: str = Field(min_length=1, max_length=256)
    session: SessionMode = Field(
        default="bearer",
        description="bearer: the tokens in the answer (Authorization header). cookie: a browser session, the tokens "
        "in HttpOnly cookies and a CSRF token in the answer; needs an Origin the tenant allows (docs/SECURITY.md)",
    )


class RefreshRequest(ApiModel):
    """The refresh token to use (it is used up; the answer carries the next one). A browser session sends ``{}``:
    its refresh token is in the refresh cookie."""

    refresh_token: str | None = Field(default=None, min_length=1, max_length=512)


class SetPasswordRequest(ApiModel):
    """Accept an invitation: the one-time token from the invitation and the new password."""

    token: str = Field(min_length=1, max_length=512)
    password: str = Field(min_length=1, max_length=256)


class ChangePasswordRequest(ApiModel):
    """Change one's own password: the current one, and the new one (same policy as at signup)."""

    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


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
