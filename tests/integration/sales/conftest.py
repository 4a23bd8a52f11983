"""Fixtures of the sales tests: the events every committed transaction wrote."""

from __future__ import annotations

from tests.support.commerce import written_events

__all__ = ["written_events"]
