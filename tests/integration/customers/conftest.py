"""Fixtures of these tests: the domain events committed during a test."""

from __future__ import annotations

from tests.support.commerce import written_events

__all__ = ["written_events"]
