"""What a notifications-queue message is about: a requested notification, a send deferred by quiet hours, or a
workflow ``notify`` action (whose notification is created here, once: its id derives from the action's identity)."""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Any

from chalicelib.core.db.store import Table, TransactionConflict
from chalicelib.core.observability import logger
from chalicelib.notifications import store
from chalicelib.notifications.models import SendJob, WorkflowNotifyJob
from chalicelib.notifications.outbox import new_record
from chalicelib.tenants.service import load_tenant

__all__ = ["hashed_id", "job_notification_ids", "workflow_notification_id"]


def hashed_id(*parts: str) -> str:
    """A notification id derived from ``parts`` (the same parts, the same id: created once)."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:26].upper()


def workflow_notification_id(action: dict[str, Any]) -> str:
    """The id of the notification a workflow ``notify`` action creates: the same for every delivery of it."""
    parts = (action["executionId"], action["state"], action["enteredAt"], action["template"])
    return hashed_id(*(str(part) for part in parts))


def _workflow_notification(job: WorkflowNotifyJob) -> str | None:
    """Create (once) the notification of a workflow ``notify`` action; its id comes from the action's identity."""
    from chalicelib.workflows import engine, entities

    spec = entities.find_spec(job.entity_type)
    if spec is None:
        raise LookupError(f"no capability registered entity type {job.entity_type!r}")
    notification_id = workflow_notification_id(job.model_dump())
    if store.get_notification(job.tenant_id, notification_id, consistent=True) is not None:
        return notification_id
    item = engine.find_entity(job.tenant_id, spec.entity_type, job.entity_id)
    if item is None:
        logger.info("notify action for an entity that is gone", extra={"entity_id": job.entity_id})
        return None
    if job.to == "customer":
        # A delivery platform's order: the platform talks to its customer (and keeps the store from doing it).
        target = None if item.get("platform") else item.get(spec.customer_field)
        to = f"customer:{target}" if target else None
    elif job.to == "assigned_user":
        target = item.get(spec.assignee_field)
        to = f"user:{target}" if target else None
    else:
        to = "role:ADMIN"
    if to is None:
        logger.info("notify action without a recipient skipped", extra={"to": job.to, "template": job.template})
        return None
    tenant = load_tenant(job.tenant_id)
    variables = {"entityType": job.entity_type, "entityId": job.entity_id, "status": job.status}
    record = new_record(
        job.tenant_id,
        job.channel,
        to,
        template=job.template,
        locale=tenant.locale,
        variables=variables,
        source="workflow",
        notification_id=notification_id,
    )
    with contextlib.suppress(TransactionConflict):  # an earlier delivery of the same action created it
        Table().transact(store.new_notification_ops(record))
    return notification_id


def job_notification_ids(body: str) -> tuple[str, list[str]]:
    """(tenant id, notification ids) a queue message is about; creates a workflow action's notification."""
    message = json.loads(body)
    if message.get("detail-type") == "notification.requested":
        detail = message["detail"]
        return str(detail["tenantId"]), [str(detail["data"]["notificationId"])]
    if message.get("source") == "workflow":
        job = WorkflowNotifyJob.model_validate(message)
        created = _workflow_notification(job)
        return job.tenant_id, [created] if created else []
    send = SendJob.model_validate(message)
    return send.tenant_id, [send.notification_id]
