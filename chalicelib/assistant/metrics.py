"""The assistant's per-tenant EMF metrics (namespace ``BTRIX``, dimensions ``service`` and ``tenantId``):
``AssistantTurns``, ``AssistantToolCalls``, ``AssistantHandovers``, ``AssistantOrders`` (checkouts that made an
order and its payment link; ``AssistantPayments``, those orders paid, comes from the orders capability),
``AssistantFallbacks`` (the LLM failed: the deterministic brain answered), ``AssistantFollowUps`` (reminders sent),
``LlmTokens``
and ``LlmLatency`` (ms)."""

from __future__ import annotations

from chalicelib.core.observability import MetricUnit, emit_metric

__all__ = ["emit"]


def emit(name: str, tenant_id: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    """One metric with the tenant as its dimension."""
    emit_metric(name, "tenantId", tenant_id, value, unit)
