"""Lucrum payouts: money sent to an external account, an expense of the account written with the payout in one
transaction (the balance goes down at once), pending until reconciled by hand against the bank statement.
"""

from __future__ import annotations

from boto3.dynamodb.conditions import Attr

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.core import clock, idempotency
from chalicelib.core.crypto import encrypt_field
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, WriteOp, change_op
from chalicelib.core.errors import Conflict, NotFound
from chalicelib.core.ids import new_id
from chalicelib.core.pagination import Page, PageParams, paginate
from chalicelib.finance import service, store
from chalicelib.finance.models import CreatePayoutRequest, Payout

__all__ = ["create_payout", "list_payouts", "reconcile_payout"]


def create_payout(principal: Principal, body: CreatePayoutRequest, idempotency_key: str | None) -> Payout:
    """Money sent to an external account: an expense of the account (balance down at once), pending until it is
    reconciled by hand against the bank statement."""
    require(principal, Permission.FINANCE_WRITE)
    account = service.account_item(principal.tenant_id, body.account_id, "body.accountId")
    service.check_amount(body.amount, account, "body.amount")
    encrypted = encrypt_field(principal.tenant_id, body.number)
    destination = f"{body.beneficiary} ({body.bank_code or '-'} {body.agency or '-'} ••••{body.number[-4:]})"

    def create(seal: idempotency.Seal) -> Payout:
        payout_id = new_id()

        def build() -> tuple[list[WriteOp], Payout]:
            transaction, ops = service.transaction_ops(
                principal.tenant_id,
                principal,
                type_="expense",
                amount=body.amount,
                category="payout",
                day=body.date.isoformat(),
                account_id=body.account_id,
                source="payout",
                description=body.description or destination,
                links={"payoutId": payout_id},
            )
            payout = Payout(
                id=payout_id,
                account_id=body.account_id,
                amount=body.amount,
                destination=destination,
                date=body.date.isoformat(),
                status="pending",
                transaction_id=transaction.id,
                created_at=clock.now_iso(),
            )
            return [*ops, store.new_payout_op(principal.tenant_id, payout, encrypted), *seal(payout)], payout

        done: Payout = service.commit(build)
        return done

    return idempotency.once(principal.tenant_id, idempotency_key, "finance-payouts", body, Payout, create)


def list_payouts(principal: Principal, params: PageParams) -> Page[Payout]:
    """Payouts, newest first."""
    require(principal, Permission.FINANCE_READ)
    return paginate(
        Page[Payout],
        params,
        tenant_id=principal.tenant_id,
        scope="finance-payouts",
        fetch=lambda start: store.list_payouts(principal.tenant_id, params.limit, start),
        convert=store.payout_of,
    )


def reconcile_payout(principal: Principal, payout_id: str) -> Payout:
    """Mark a payout reconciled (seen on the bank statement); a second time is a 409."""
    require(principal, Permission.FINANCE_WRITE)
    item = store.get_payout(principal.tenant_id, payout_id)
    if item is None:
        raise NotFound(detail=f"no payout {payout_id}")
    if item["status"] != "pending":
        raise Conflict(detail="the payout is reconciled already")
    at = clock.now_iso()
    pk, sk = store.payout_key(principal.tenant_id, payout_id)
    Table().transact(
        [
            change_op(
                pk,
                sk,
                set_={"status": "reconciled", "reconciledAt": at},
                add={"version": 1},
                condition=Attr("status").eq("pending"),
                conflict=Conflict(detail="the payout is reconciled already"),
            ),
            audit_op(principal, "finance.payout_reconciled", Kind.PAYOUT, payout_id),
        ]
    )
    return store.payout_of({**item, "status": "reconciled", "reconciledAt": at, "version": int(item["version"]) + 1})
