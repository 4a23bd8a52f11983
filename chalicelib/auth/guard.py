"""The guard of every protected route: who is calling, is their tenant active, may they do this.

Tokens are verified inside the application (not by an API Gateway authorizer) so that the same code runs
in AWS, locally and in tests, and a deactivated user, a suspended tenant or an ended session is refused on the
very next request rather than when a cached authorizer decision expires (or the token does). The user and the
tenant are read fresh on every request, together (one BatchGetItem, eventually consistent like the GetItems it
replaces), nothing of them is cached between requests. The published signing keys that verify the token are kept per
container (``auth/keys.py``); when they must be read (a new container, every few minutes, an unknown ``kid``) they join
that BatchGetItem, read for the user and the tenant the token names and believed only once it verifies.
Each tenant's requests are throttled at its plan's rate and burst (``core/throttle.py``; in AWS API Gateway does it
first, the authorizer naming the tenant's usage-plan key), right after the caller is known and before anything else.
The token comes in the ``Authorization`` header, or in a browser session's access cookie (``auth/cookies.py``:
then a state change also needs the CSRF token, and the ``Origin`` must be one the tenant allows).
"""

from __future__ import annotations

from chalice.app import Request

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal
from chalicelib.auth import cookies
from chalicelib.auth.sessions import session_ended
from chalicelib.auth.tokens import claimed_principal, reads_to_verify, verify_access_token
from chalicelib.core import cors
from chalicelib.core.api import ApiBlueprint, Operation, RequestMeta, request_meta
from chalicelib.core.config import get_settings
from chalicelib.core.db.keys import InvalidKey
from chalicelib.core.db.store import Table
from chalicelib.core.errors import Forbidden, Unauthorized
from chalicelib.core.i18n import resolve_locale
from chalicelib.core.throttle import Allowance, tenant_throttle
from chalicelib.plans.catalog import get_plan
from chalicelib.tenants import reading as tenants
from chalicelib.users import reading as users

__all__ = ["authorize", "protected_blueprint"]


def _access_token(request: Request, meta: RequestMeta) -> tuple[str, bool]:
    """The access token and whether it came in a browser session's cookie (the Authorization header wins)."""
    header = request.headers.get("authorization", "") if request.headers else ""
    if not header:
        cookie = meta.cookies.get(cookies.cookie_names(meta).access)
        if cookie:
            return cookie, True
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(detail="send an access token: Authorization: Bearer <token>")
    return token.strip(), False


def _records(principal: tuple[str, str] | None) -> list[tuple[str, str]]:
    """The keys of a principal's user and tenant records (none when the ids cannot name any)."""
    if principal is None:
        return []
    tenant_id, user_id = principal
    try:
        return [users.record_key(tenant_id, user_id), tenants.record_key(tenant_id)]
    except InvalidKey:
        return []


def authorize(request: Request, operation: Operation) -> Principal:
    """The principal of a request to ``operation``, or ``Unauthorized`` / ``Forbidden``."""
    meta = request_meta(request)
    token, by_cookie = _access_token(request, meta)
    key_reads = reads_to_verify(token)
    if key_reads:
        # This container must (re)read the published signing keys: in one BatchGetItem with the user and the tenant
        # the token names (believed only once it verifies; a forged token's read is wasted, not trusted).
        Table().prefetch([*key_reads, *_records(claimed_principal(token))])
    claims = verify_access_token(token)
    # One BatchGetItem for both (none when read above); the handler's own reads of them (GET /auth/me) answer from it.
    Table().prefetch(_records((claims.tenant_id, claims.user_id)))
    user = users.find_user(claims.tenant_id, claims.user_id)
    tenant = tenants.find_tenant(claims.tenant_id)
    if user is None or tenant is None or user.status != "active":
        raise Unauthorized(detail="this account is not active")
    # The session's end is on the user item just read (logout, refresh reuse, deactivation, password change).
    if session_ended(claims.session_id, claims.session_epoch, user.session_epoch, user.revoked_sessions):
        raise Unauthorized(detail="this session has ended; log in again")
    cors.allow_origins(tenant.allowed_origins)  # this answer's CORS headers: the caller's tenant's origins only
    if by_cookie:
        cookies.check_browser_request(tenant.allowed_origins, meta)
    if get_settings().tenant_throttle:
        plan = get_plan(tenant.plan_id)  # the plan just read: a plan change applies at the next request
        tenant_throttle.take(tenant.id, Allowance(plan.requests_per_second, plan.request_burst))
    principal = Principal(
        user_id=user.id,
        tenant_id=tenant.id,
        role=user.role,  # the stored role, so a role change applies at once
        email=user.email,
        modules=frozenset(tenant.modules),
        tenant_active=tenant.status == "active",
        session_id=claims.session_id,
        request_id=meta.request_id,
        source_ip=meta.source_ip,
        locale=resolve_locale(request.headers.get("accept-language") if request.headers else None, tenant.locale),
        browser_session=by_cookie,
    )
    if not principal.tenant_active and not operation.allow_suspended:
        raise Forbidden(detail="this account is suspended; only billing is available", code="tenant-suspended")
    if operation.module is not None and operation.module not in tenant.modules:
        raise Forbidden(
            detail=f"the plan {tenant.plan_id} does not include the module {operation.module}",
            code="module-not-enabled",
        )
    for needed in (operation.permission, *operation.also_requires):
        if needed is not None and not principal.can(Permission(needed)):
            raise Forbidden(detail=f"role {user.role.value} lacks permission {needed}")
    return principal


def protected_blueprint(import_name: str, tag: str) -> ApiBlueprint:
    """A blueprint whose operations go through ``authorize`` unless declared public."""
    return ApiBlueprint(import_name, tag, guard=authorize)
