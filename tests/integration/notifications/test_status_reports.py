"""A provider's delivery report is applied with one lookup of the message id and one transaction (no read of the
notification): forward only, a stale or repeated report changes nothing, a read report keeps the time the message
was delivered when that came first."""

from __future__ import annotations

import pytest

from chalicelib.core import aws
from chalicelib.core.db.store import Table
from chalicelib.core.ids import new_id
from chalicelib.notifications import store
from chalicelib.notifications.status import apply_status
from tests.support.aws_calls import calls_of
from tests.support.inbound_hooks import sent_notification

pytestmark = pytest.mark.usefixtures("stack")
ACCOUNT = "AC" + "4" * 32


def _sms(tenant_id: str, sent_by: str | None = ACCOUNT) -> tuple[str, str]:
    sid = f"SM{new_id().lower()}"
    return sid, sent_notification(tenant_id, "sms", "+5511977776666", "twilio", sid, sent_by=sent_by)


@pytest.mark.parametrize("first", ["delivered", "read"])
def test_a_report_takes_one_lookup_and_one_transaction(tenant_id: str, first: str) -> None:
    sid, notification_id = _sms(tenant_id)
    with calls_of(aws.dynamodb()) as calls:
        assert apply_status("twilio", sid, first, sent_by=ACCOUNT) is True
    assert calls == ["GetItem", "TransactWriteItems"]
    record = store.get_notification(tenant_id, notification_id, consistent=True)
    assert record is not None
    assert (record.status, record.version) == (first, 2)
    assert record.delivered_at is not None
    if first == "read":  # read with no delivered report before it: it says when the message was delivered too
        assert record.delivered_at == record.read_at


def test_a_stale_or_repeated_report_changes_nothing(tenant_id: str) -> None:
    sid, notification_id = _sms(tenant_id)
    assert apply_status("twilio", sid, "delivered", sent_by=ACCOUNT) is True
    delivered = store.get_notification(tenant_id, notification_id, consistent=True)
    assert apply_status("twilio", sid, "read", sent_by=ACCOUNT) is True
    for late in ("delivered", "read", "failed", "undelivered"):
        with calls_of(aws.dynamodb()) as calls:
            assert apply_status("twilio", sid, late, "30005", sent_by=ACCOUNT) is False
        assert calls == ["GetItem", "TransactWriteItems"]  # the condition refused it, not a read
    read = store.get_notification(tenant_id, notification_id, consistent=True)
    assert delivered is not None
    assert read is not None
    assert (read.status, read.version, read.last_error) == ("read", 3, None)
    assert read.delivered_at == delivered.delivered_at  # kept from the delivered report
    assert read.read_at is not None


def test_an_older_lookup_is_applied_after_a_read_of_its_notification(tenant_id: str) -> None:
    sid, notification_id = _sms(tenant_id, sent_by=None)
    assert apply_status("twilio", sid, "failed", "30005", sent_by=ACCOUNT) is False  # BTRIX's account: not its own
    with calls_of(aws.dynamodb()) as calls:
        assert apply_status("twilio", sid, "failed", "30005", sent_by=ACCOUNT, tenant_id=tenant_id) is True
    assert calls == ["GetItem", "GetItem", "TransactWriteItems"]
    record = store.get_notification(tenant_id, notification_id, consistent=True)
    assert record is not None
    assert (record.status, record.last_error) == ("failed", "twilio: 30005")


def test_a_report_of_a_message_nobody_sent_or_a_deleted_one_changes_nothing(tenant_id: str) -> None:
    with calls_of(aws.dynamodb()) as calls:
        assert apply_status("twilio", f"SM{new_id().lower()}", "delivered", sent_by=ACCOUNT) is False
    assert calls == ["GetItem"]
    sid, notification_id = _sms(tenant_id)
    Table().delete(*store.notification_key(tenant_id, notification_id))
    with calls_of(aws.dynamodb()) as calls:
        assert apply_status("twilio", sid, "delivered", sent_by=ACCOUNT) is False
    assert calls == ["GetItem", "TransactWriteItems"]  # the transaction's condition finds no notification
    assert store.get_notification(tenant_id, notification_id, consistent=True) is None
