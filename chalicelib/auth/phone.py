"""Verifying a user's WhatsApp number: a 6-digit one-time code sent there (stored hashed, 10 minutes, 5 tries)."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from chalicelib.access.principal import Principal
from chalicelib.audit.service import audit_op
from chalicelib.auth import store
from chalicelib.auth.models import CodeSent, VerifyCodeRequest
from chalicelib.core import clock, ratelimit
from chalicelib.core.crypto import lookup_hash
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table
from chalicelib.core.errors import FieldError, InvalidInput
from chalicelib.notifications.outbox import request_message_ops
from chalicelib.tenants.service import load_tenant
from chalicelib.users import service as users
from chalicelib.users.models import User

__all__ = ["OTP_ATTEMPTS", "OTP_TTL", "send_whatsapp_code", "verify_whatsapp_code"]

OTP_TTL = timedelta(minutes=10)
OTP_ATTEMPTS = 5


def _code_hash(principal: Principal, code: str) -> str:
    return lookup_hash("otp", f"{principal.tenant_id}:{principal.user_id}:{code}")


def _masked(number: str) -> str:
    return f"{number[:3]}{'*' * max(len(number) - 7, 0)}{number[-4:]}"


def send_whatsapp_code(principal: Principal) -> CodeSent:
    """Send a 6-digit code (valid 10 minutes, 5 tries) to the user's WhatsApp number to verify it."""
    user = users.find_user(principal.tenant_id, principal.user_id)
    if user is None or not user.whatsapp_number:
        raise InvalidInput(
            detail="set a WhatsApp number first", errors=(FieldError("whatsappNumber", "missing", "missing"),)
        )
    ratelimit.consume(ratelimit.OTP_SEND, f"{principal.tenant_id}:{principal.user_id}")
    code = f"{secrets.randbelow(1_000_000):06d}"
    stored = store.OneTimeCode(
        code_hash=_code_hash(principal, code),
        number=user.whatsapp_number,
        expires_at=clock.to_epoch(clock.now() + OTP_TTL),
    )
    tenant = load_tenant(principal.tenant_id)
    message = request_message_ops(
        principal.tenant_id, "whatsapp", user.whatsapp_number, "auth.verification_code", tenant.locale, {"code": code}
    )
    Table().transact([store.put_code_op(principal.tenant_id, principal.user_id, stored), *message])
    return CodeSent(channel="whatsapp", to=_masked(user.whatsapp_number), expires_in=int(OTP_TTL.total_seconds()))


def verify_whatsapp_code(principal: Principal, body: VerifyCodeRequest) -> User:
    """Check the code; the fifth wrong try uses it up. Marks the WhatsApp number verified."""
    stored = store.get_code(principal.tenant_id, principal.user_id)
    invalid = InvalidInput(
        detail="the code is wrong or expired; request a new one",
        errors=(FieldError("body.code", "wrong or expired code", "invalid-code"),),
    )
    if stored is None or stored.expires_at < clock.to_epoch(clock.now()):
        raise invalid
    if store.count_code_attempt(principal.tenant_id, principal.user_id) > OTP_ATTEMPTS:
        raise invalid
    if not hmac.compare_digest(stored.code_hash, _code_hash(principal, body.code)):
        raise invalid
    user = users.find_user(principal.tenant_id, principal.user_id, consistent=True)
    if user is None or user.whatsapp_number != stored.number:
        raise invalid
    changes = {"whatsappVerified": True, "updatedAt": clock.now_iso()}
    Table().transact(
        [
            users.update_user_op(user, changes),
            store.delete_code_op(principal.tenant_id, principal.user_id),
            audit_op(principal, "user.whatsapp_verified", Kind.USER, user.id, after={"whatsappVerified": True}),
        ]
    )
    return User.of(user.model_copy(update={"whatsapp_verified": True, "version": user.version + 1}))
