"""User routes."""

from __future__ import annotations

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal
from chalicelib.auth.guard import protected_blueprint
from chalicelib.core.pagination import Page
from chalicelib.users import service
from chalicelib.users.models import InviteUserRequest, UpdateUserRequest, User, UserListQuery

blueprint = protected_blueprint(__name__, tag="users")


@blueprint.operation("/users", query=UserListQuery, response=Page[User], permission=Permission.USERS_READ)
def list_users(query: UserListQuery, principal: Principal) -> Page[User]:
    """List users

    The tenant's users, newest first, optionally by status.
    """
    return service.list_users(principal, query)


@blueprint.operation(
    "/users",
    "POST",
    body=InviteUserRequest,
    response=User,
    status=201,
    permission=Permission.USERS_MANAGE,
    problems=(409,),
)
def invite_user(body: InviteUserRequest, principal: Principal) -> User:
    """Invite a user

    Creates the user (status invited) and sends a one-time link to set a password. Counts against maxUsers.
    """
    return service.invite_user(principal, body)


@blueprint.operation("/users/{user_id}", response=User, permission=Permission.PROFILE_READ, problems=(404,))
def get_user(user_id: str, principal: Principal) -> User:
    """Get a user

    Anyone may read their own profile; other users need users:read.
    """
    return service.get_user(principal, user_id)


@blueprint.operation(
    "/users/{user_id}",
    "PATCH",
    body=UpdateUserRequest,
    response=User,
    permission=Permission.USERS_MANAGE,
    problems=(404, 409),
)
def update_user(user_id: str, body: UpdateUserRequest, principal: Principal) -> User:
    """Change a user

    Name, role or WhatsApp number; send the version you read.
    """
    return service.update_user(principal, user_id, body)


@blueprint.operation(
    "/users/{user_id}/deactivate", "POST", response=User, permission=Permission.USERS_MANAGE, problems=(404,)
)
def deactivate_user(user_id: str, principal: Principal) -> User:
    """Deactivate a user

    Ends their sessions at once and frees their seat.
    """
    return service.deactivate_user(principal, user_id)


@blueprint.operation(
    "/users/{user_id}/reactivate", "POST", response=User, permission=Permission.USERS_MANAGE, problems=(404,)
)
def reactivate_user(user_id: str, principal: Principal) -> User:
    """Reactivate a user

    Takes a seat again (maxUsers).
    """
    return service.reactivate_user(principal, user_id)
