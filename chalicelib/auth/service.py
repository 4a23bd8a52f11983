"""Authentication use cases: signup, login, refresh, logout, password change, the current user, invitations (the
WhatsApp number's one-time code: ``chalicelib.auth.phone``)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from chalicelib.access.permissions import Role
from chalicelib.access.principal import Principal
from chalicelib.audit.service import audit_op
from chalicelib.auth import cookies, sessions, store
from chalicelib.auth.models import (
    ChangePasswordRequest,
    LoginRequest,
    Me,
    SetPasswordRequest,
    SignupRequest,
    SignupResponse,
    TokenPair,
)
from chalicelib.auth.passwords import check_policy, hash_password, verify_password
from chalicelib.auth.tokens import AccessClaims, issue_access_token
from chalicelib.core import clock, ratelimit
from chalicelib.core.api import RequestMeta
from chalicelib.core.config import get_settings
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, TransactionConflict, WriteOp, unscoped
from chalicelib.core.errors import Conflict, DependencyUnavailable, FieldError, InvalidInput, Unauthorized
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.formatting import moment_value
from chalicelib.core.ids import new_id
from chalicelib.core.observability import logger
from chalicelib.notifications.outbox import request_message_ops
from chalicelib.plans.catalog import DEFAULT_PLAN_ID, get_plan
from chalicelib.tenants import service as tenants
from chalicelib.tenants import usage_keys
from chalicelib.tenants.models import PLATFORM_TENANT_ID, BusinessType, Tenant, TenantRecord
from chalicelib.tenants.service import load_tenant, new_tenant_record
from chalicelib.users import service as users
from chalicelib.users.models import User, UserRecord

__all__ = [
    "accept_invitation",
    "change_password",
    "create_platform_admin",
    "invitation_ops",
    "login",
    "logout",
    "logout_browser",
    "me",
    "refresh",
    "signup",
]

INVITE_PREFIX = "btrx_inv_"
_BAD_LOGIN = "The email/CPF or the password is wrong."


def _actor(user: UserRecord, meta: RequestMeta | None, session_id: str | None = None) -> Principal:
    return Principal(
        user_id=user.id,
        tenant_id=user.tenant_id,
        role=user.role,
        email=user.email,
        session_id=session_id,
        request_id=meta.request_id if meta else None,
        source_ip=meta.source_ip if meta else None,
    )


def _token_pair(user: UserRecord, tenant: TenantRecord, session: sessions.Session, refresh_token: str) -> TokenPair:
    access, lifetime = issue_access_token(
        user_id=user.id,
        tenant_id=tenant.id,
        role=user.role,
        modules=tenant.modules,
        session_id=session.family_id,
        session_epoch=session.epoch,
    )
    return TokenPair(
        access_token=access,
        expires_in=lifetime,
        refresh_token=refresh_token,
        refresh_expires_in=get_settings().refresh_token_ttl_days * 86_400,
    )


def _ip(meta: RequestMeta) -> str:
    return meta.source_ip or "unknown"


def _give_usage_key(tenant_id: str) -> None:
    """The tenant's API key in its plan's usage plan, at once: in AWS its first requests need it. If API Gateway fails
    now, the ``tenant.created`` job (or ``python -m chalicelib.tenants.usage_keys``) makes the key; until then the
    gateway refuses the tenant's requests."""
    try:
        usage_keys.sync_usage_key(tenant_id)
    except DependencyUnavailable as exc:
        logger.warning("the new tenant's usage-plan key is left to its job", extra={"error": exc.detail_text})


def signup(body: SignupRequest, meta: RequestMeta) -> SignupResponse:
    """Create a tenant with its first ADMIN in one transaction, and log the ADMIN in."""
    ratelimit.consume(ratelimit.SIGNUP_IP, _ip(meta))
    admin = body.admin
    check_policy(admin.password, field="body.admin.password", personal=(admin.email.split("@")[0], admin.name))
    plan = get_plan(DEFAULT_PLAN_ID)  # paid plans are the platform operator's to grant (until billing exists)
    tenant_id, user_id = new_id(), new_id()
    tenant = new_tenant_record(
        tenant_id,
        name=body.company_name,
        business_type=body.business_type,
        locale=body.locale,
        time_zone=body.time_zone,
        currency=body.currency,
        country=body.country,
        plan_id=plan.id,
        document=body.document,
        whatsapp_number=body.whatsapp_number,
    ).model_copy(update={"user_count": 1})
    now = clock.now_iso()
    user = UserRecord.model_validate(
        {
            "id": user_id,
            "tenantId": tenant_id,
            "email": admin.email.lower(),
            "name": admin.name,
            "role": Role.ADMIN,
            "status": "active",
            "passwordHash": hash_password(admin.password),
            "whatsappNumber": admin.whatsapp_number,
            "createdAt": now,
            "updatedAt": now,
            **users.cpf_fields(tenant_id, admin.cpf, field="body.admin.cpf"),
        }
    )
    refresh_token, session, session_ops = sessions.start_session_ops(tenant_id, user_id, user.session_epoch)
    actor = _actor(user, meta, session.family_id)
    ops = [
        tenants.new_tenant_op(tenant),
        *users.new_user_ops(user, field="body.admin"),
        *session_ops,
        audit_op(actor, "tenant.created", Kind.TENANT, tenant_id, after=tenant.model_dump()),
        audit_op(actor, "user.created", Kind.USER, user_id, after=user.model_dump()),
        event_put_op(new_event("tenant.created", tenant_id, {"businessType": tenant.business_type}, tenant_id)),
    ]
    try:
        Table().transact(ops)
    except TransactionConflict as exc:
        raise Conflict(
            detail="this account is already registered",
            errors=(FieldError("body", "already registered", "taken"),),
        ) from exc
    _give_usage_key(tenant_id)
    return SignupResponse(
        tenant=Tenant.of(tenant), user=User.of(user), tokens=_token_pair(user, tenant, session, refresh_token)
    )


def login(body: LoginRequest, meta: RequestMeta) -> TokenPair:
    """Log in with email or CPF and password; 5 failures per identifier or IP in 15 minutes lock it out."""
    identifier = body.identifier.strip().lower()
    ratelimit.check(ratelimit.LOGIN_IDENTIFIER, identifier)
    ratelimit.check(ratelimit.LOGIN_IP, _ip(meta))
    user = users.find_login(identifier, field="body.identifier")
    matches, needs_rehash = verify_password(user.password_hash if user else None, body.password)
    if user is None or not matches or user.status != "active":
        ratelimit.hit(ratelimit.LOGIN_IDENTIFIER, identifier)
        ratelimit.hit(ratelimit.LOGIN_IP, _ip(meta))
        raise Unauthorized(detail=_BAD_LOGIN)
    tenant = load_tenant(user.tenant_id)
    if body.session == "cookie":
        cookies.check_origin(tenant.allowed_origins, meta, required=True)  # a browser session: only where allowed
    refresh_token, session, ops = sessions.start_session_ops(user.tenant_id, user.id, user.session_epoch)
    if needs_rehash:
        changes = {"passwordHash": hash_password(body.password), "updatedAt": clock.now_iso()}
        ops.append(users.update_user_op(user, changes))
    ops.append(audit_op(_actor(user, meta, session.family_id), "auth.login", Kind.USER, user.id))
    Table().transact(ops)
    return _token_pair(user, tenant, session, refresh_token)


def _end_session_ops(user: UserRecord, session: sessions.Session) -> list[WriteOp]:
    """End one session: its refresh tokens (the family) and, at once, its access tokens (a marker on the user)."""
    marker = sessions.revoked_marker(session.family_id)
    return [sessions.revoke_family_op(session), users.revoke_session_op(user.tenant_id, user.id, marker)]


def _prune_revoked(user: UserRecord) -> None:
    users.prune_revoked_sessions(user.tenant_id, user.id, sessions.stale_markers(user.revoked_sessions))


def refresh(token: str, meta: RequestMeta, *, browser: bool = False) -> TokenPair:
    """Trade a refresh token for new tokens; a token used twice revokes its whole session. A ``browser`` session's
    token is used only from an origin its tenant allows (checked before the token is used up)."""
    ratelimit.consume(ratelimit.REFRESH_IP, _ip(meta))
    outcome = sessions.find_session(token)
    session = outcome.session
    user = users.find_user(session.tenant_id, session.user_id, consistent=True)
    if user is None or user.status != "active":
        raise Unauthorized(detail="the user is not active")
    if session.epoch != user.session_epoch:
        raise Unauthorized(detail="the session has ended; log in again")  # every session of the user ended since
    tenant = load_tenant(user.tenant_id)
    if browser:
        cookies.check_origin(tenant.allowed_origins, meta, required=True)
    if not outcome.reused:
        following, ops = sessions.rotate_ops(token, outcome)
        try:
            Table().transact(ops)
        except Conflict:
            pass  # another request used this token at the same moment: that is a reuse too
        else:
            return _token_pair(user, tenant, session, following)
    Table().transact(
        [
            *_end_session_ops(user, session),
            audit_op(_actor(user, meta, session.family_id), "auth.refresh_reused", Kind.USER, user.id),
        ]
    )
    _prune_revoked(user)
    raise Unauthorized(detail="this refresh token was already used; the session has been revoked, log in again")


def logout(token: str, meta: RequestMeta) -> None:
    """End the session the refresh token belongs to."""
    session = sessions.find_session(token).session
    user = users.find_user(session.tenant_id, session.user_id)
    if user is None:
        raise Unauthorized(detail="the refresh token is not valid")
    _end_session(user, session, meta)


def logout_browser(claims: AccessClaims, meta: RequestMeta) -> None:
    """End the browser session of an access token (its cookie; it may have expired, its signature may not): the
    session's refresh tokens and access tokens stop working. The request comes from an origin the tenant allows."""
    user = users.find_user(claims.tenant_id, claims.user_id)
    tenant = tenants.find_tenant(claims.tenant_id)
    if user is None or tenant is None:
        raise Unauthorized(detail="this account is not active")
    cookies.check_origin(tenant.allowed_origins, meta, required=True)
    if sessions.session_ended(claims.session_id, claims.session_epoch, user.session_epoch, user.revoked_sessions):
        return  # ended already (a second logout, a reuse, a password change): only the cookies go
    _end_session(user, sessions.Session(user.tenant_id, user.id, claims.session_id, claims.session_epoch), meta)


def _end_session(user: UserRecord, session: sessions.Session, meta: RequestMeta) -> None:
    Table().transact(
        [
            *_end_session_ops(user, session),
            audit_op(_actor(user, meta, session.family_id), "auth.logout", Kind.USER, user.id),
        ]
    )
    _prune_revoked(user)


def change_password(principal: Principal, body: ChangePasswordRequest) -> TokenPair:
    """Change the caller's password: every session of theirs ends (this one too; its access tokens at once) and a
    new session starts. Wrong current passwords count against the login limit of the account."""
    user = users.find_user(principal.tenant_id, principal.user_id, consistent=True)
    if user is None:
        raise Unauthorized(detail="the user no longer exists")
    ratelimit.check(ratelimit.LOGIN_IDENTIFIER, user.email)
    matches, _ = verify_password(user.password_hash, body.current_password)
    if not matches:
        ratelimit.hit(ratelimit.LOGIN_IDENTIFIER, user.email)
        raise InvalidInput(
            detail="the current password is wrong",
            errors=(FieldError("body.currentPassword", "wrong password", "wrong-password"),),
        )
    check_policy(body.new_password, field="body.newPassword", personal=(user.email.split("@")[0], user.name))
    epoch = user.session_epoch + 1
    changes = {
        "passwordHash": hash_password(body.new_password),
        "sessionEpoch": epoch,
        "updatedAt": clock.now_iso(),
    }
    refresh_token, session, ops = sessions.start_session_ops(user.tenant_id, user.id, epoch)
    ops += [
        users.update_user_op(user, changes),
        audit_op(principal, "auth.password_changed", Kind.USER, user.id),
    ]
    with unscoped():  # refresh tokens are global routes (ROUTE#REFRESH#<hash>): no tenant owns that key space
        Table().transact(ops)
    changed = user.model_copy(update={"session_epoch": epoch, "version": user.version + 1})
    return _token_pair(changed, load_tenant(user.tenant_id), session, refresh_token)


def me(principal: Principal) -> Me:
    """The current user, their tenant, and what they may do."""
    user = users.find_user(principal.tenant_id, principal.user_id)
    if user is None:
        raise Unauthorized(detail="the user no longer exists")
    tenant = load_tenant(principal.tenant_id)
    return Me(
        user=User.of(user),
        tenant=Tenant.of(tenant),
        permissions=sorted(principal.permissions),
        modules=sorted(tenant.modules),
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_ops(user: UserRecord, tenant: TenantRecord) -> list[WriteOp]:
    """The writes that invite ``user``: a one-time token (stored hashed) and the invitation message."""
    token = INVITE_PREFIX + secrets.token_urlsafe(32)
    expires = clock.now() + timedelta(hours=get_settings().invite_ttl_hours)
    invitation = store.new_invitation_op(
        _token_hash(token), user.tenant_id, user.id, expires_at=clock.to_epoch(expires)
    )
    link = f"{get_settings().app_base_url}/accept-invite?token={token}"
    message = request_message_ops(
        user.tenant_id,
        "email",
        user.email,
        "user.invitation",
        tenant.locale,
        {"name": user.name, "tenantName": tenant.name, "link": link, "expiresAt": moment_value(expires)},
    )
    return [invitation, *message]


def accept_invitation(body: SetPasswordRequest, meta: RequestMeta) -> TokenPair:
    """Set the password of an invited user with the invitation's one-time token, and log them in."""
    invitation = store.get_invitation(_token_hash(body.token))
    if invitation is None or invitation.expires_at < clock.to_epoch(clock.now()):
        raise InvalidInput(
            detail="the invitation is not valid or has expired",
            errors=(FieldError("body.token", "invalid or expired", "invalid-token"),),
        )
    user = users.find_user(invitation.tenant_id, invitation.user_id, consistent=True)
    if user is None or user.status != "invited":
        raise InvalidInput(detail="the invitation was already used", errors=(FieldError("body.token", "used"),))
    check_policy(body.password, personal=(user.email.split("@")[0], user.name))
    tenant = load_tenant(user.tenant_id)
    refresh_token, session, ops = sessions.start_session_ops(user.tenant_id, user.id, user.session_epoch)
    changes = {
        "status": "active",
        "passwordHash": hash_password(body.password),
        "updatedAt": clock.now_iso(),
    }
    actor = _actor(user, meta, session.family_id)
    ops += [
        users.update_user_op(user, changes),
        store.delete_invitation_op(_token_hash(body.token)),
        audit_op(
            actor, "user.activated", Kind.USER, user.id, before={"status": user.status}, after={"status": "active"}
        ),
    ]
    Table().transact(ops)
    return _token_pair(user.model_copy(update={"status": "active"}), tenant, session, refresh_token)


def create_platform_admin(email: str, name: str, password: str) -> UserRecord:
    """Create a platform operator (role PLATFORM_ADMIN, outside every customer tenant).

    Creates the platform's own tenant record the first time. Used by the bootstrap command and the
    local demo seed; there is deliberately no API for it.
    """
    check_policy(password, field="password", personal=(email.split("@")[0], name))
    ops: list[WriteOp] = []
    if tenants.find_tenant(PLATFORM_TENANT_ID, consistent=True) is None:
        platform = new_tenant_record(
            PLATFORM_TENANT_ID,
            name="BTRIX platform",
            business_type=BusinessType.SERVICES,
            locale="en-US",
            time_zone="UTC",
            currency="USD",
            country="US",
            plan_id=DEFAULT_PLAN_ID,
        ).model_copy(update={"modules": []})
        ops.append(tenants.new_tenant_op(platform))
    now = clock.now_iso()
    user = UserRecord.model_validate(
        {
            "id": new_id(),
            "tenantId": PLATFORM_TENANT_ID,
            "email": email.strip().lower(),
            "name": name,
            "role": Role.PLATFORM_ADMIN,
            "status": "active",
            "passwordHash": hash_password(password),
            "createdAt": now,
            "updatedAt": now,
        }
    )
    actor = _actor(user, None)
    ops += [
        *users.new_user_ops(user, field="email"),
        audit_op(actor, "user.created", Kind.USER, user.id, after=user.model_dump()),
    ]
    Table().transact(ops)
    _give_usage_key(PLATFORM_TENANT_ID)  # operators' requests are counted under the platform's key
    return user
