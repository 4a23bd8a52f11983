"""When things happened in a conversation: providers' timestamps read as datetimes, and the customer's 24-hour
window (WhatsApp takes free-form messages only while the customer's last message is less than 24 hours old)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.conversations.models import ConversationRecord
from chalicelib.core import clock

__all__ = ["WINDOW", "moment", "window_open"]

WINDOW = timedelta(hours=24)


def moment(value: str | int | None) -> datetime:
    """``value`` as a datetime: epoch seconds (Meta's and Bitrix24's timestamps, as int or digits) or ISO 8601;
    now when there is none."""
    if value is None or value == "":
        return clock.now()
    if isinstance(value, int) or str(value).isdigit():
        return datetime.fromtimestamp(int(value), UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def window_open(conversation: ConversationRecord, now: datetime) -> bool:
    """Whether the customer wrote less than 24 hours before ``now``."""
    if conversation.last_inbound_at is None:
        return False
    return now - moment(conversation.last_inbound_at) < WINDOW
