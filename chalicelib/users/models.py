"""User models: the stored record, the API view, and the requests that change users."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import EmailStr, Field, field_validator

from chalicelib.access.permissions import Role
from chalicelib.core.models import ApiModel
from chalicelib.core.pagination import PageParams
from chalicelib.core.patch import Clearable, PatchRequest
from chalicelib.core.personal_data import PERSONAL
from chalicelib.core.validation import E164Phone

__all__ = [
    "InviteUserRequest",
    "UpdateUserRequest",
    "User",
    "UserListQuery",
    "UserRecord",
    "UserStatus",
]

UserStatus = Literal["invited", "active", "inactive"]


class UserRecord(ApiModel):
    """A user as stored: the CPF only encrypted (plus its keyed hash), the password only as a hash."""

    id: str
    tenant_id: str
    email: Annotated[str, PERSONAL]
    name: Annotated[str, PERSONAL]
    role: Role
    status: UserStatus
    password_hash: str | None = None
    cpf_encrypted: str | None = None
    cpf_hash: str | None = None
    whatsapp_number: Annotated[str | None, PERSONAL] = None
    whatsapp_verified: bool = False
    created_at: str
    updated_at: str
    version: int = 1
    # Session revocation, read by the guard with the user (no extra read; see docs/SECURITY.md). Kept out of
    # dumps (audit entries, the stored item on creation): written only by their own operations.
    session_epoch: int = Field(default=0, exclude=True, description="Bumped to end every session at once")
    revoked_sessions: frozenset[str] = Field(
        default=frozenset(), exclude=True, description="'<session id>@<epoch until its tokens expire>' entries"
    )


class User(ApiModel):
    """A user as the API shows it."""

    id: str
    tenant_id: str
    email: str
    name: str
    role: Role
    status: UserStatus
    has_cpf: bool
    whatsapp_number: str | None = None
    whatsapp_verified: bool
    created_at: str
    updated_at: str
    version: int

    @classmethod
    def of(cls, record: UserRecord) -> User:
        """The API view of a stored user."""
        fields = record.model_dump(by_alias=False, exclude={"password_hash", "cpf_encrypted", "cpf_hash"})
        return cls(**fields, has_cpf=record.cpf_hash is not None)


def _tenant_role(role: Role) -> Role:
    if role is Role.PLATFORM_ADMIN:
        raise ValueError("PLATFORM_ADMIN is not a role of a tenant's user")
    return role


class InviteUserRequest(ApiModel):
    """Invite someone: they get a one-time link to set their password."""

    email: EmailStr
    name: str = Field(min_length=2, max_length=120)
    role: Role
    cpf: str | None = Field(default=None, description="Brazilian CPF (check digits validated); allows CPF login")
    whatsapp_number: E164Phone | None = None

    _role = field_validator("role")(_tenant_role)


class UpdateUserRequest(PatchRequest):
    """Changes to a user; ``version`` is the one the client read. Null clears the WhatsApp number."""

    version: int = Field(ge=1)
    name: str | None = Field(default=None, min_length=2, max_length=120)
    role: Role | None = None
    whatsapp_number: Annotated[E164Phone | None, Clearable()] = None

    _role = field_validator("role")(lambda role: role if role is None else _tenant_role(role))


class UserListQuery(PageParams):
    """Filters of the user list."""

    status: UserStatus | None = None
