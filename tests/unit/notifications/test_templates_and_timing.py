"""Pure notification logic: template validation and rendering, quiet hours, backoff."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.core.errors import InvalidInput
from chalicelib.notifications import templates
from chalicelib.notifications.models import PutTemplateRequest, TemplateVariant
from chalicelib.notifications.preparation import quiet_until


def _request(**fields: object) -> PutTemplateRequest:
    return PutTemplateRequest.model_validate({"channel": "whatsapp", "locale": "pt-BR", "body": "Oi", **fields})


def test_every_workflow_template_ships_in_the_four_locales() -> None:
    from chalicelib.workflows.defaults import all_defaults

    used = set()
    for _, definition in all_defaults():
        for status in definition.statuses:
            used |= {(a.template, a.channel) for a in status.on_enter if a.kind == "notify"}
            used |= {(t.remind.template, t.remind.channel) for t in status.timers if t.remind}
    for key, channel in used:
        locales = {v.locale for v in templates.default_variants(key) if v.channel == channel}
        assert locales == {"pt-BR", "en-US", "es-ES", "da-DK"}, (key, channel)


def test_an_unknown_variable_is_refused_naming_the_field_and_the_variable() -> None:
    request = _request(
        body="{{ name }}",
        whatsappTemplate={
            "name": "x",
            "language": "pt_BR",
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "{{ other }}"}]}],
        },
        variables=[{"name": "name"}],
    )
    with pytest.raises(InvalidInput) as raised:
        templates.validate_template(request)
    [error] = raised.value.errors
    assert error.loc == "body.whatsappTemplate.components[0].parameters[0].text"
    assert "'other'" in error.message


def test_the_sandbox_refuses_reaching_python_internals() -> None:
    variant = TemplateVariant.model_validate(
        {"channel": "sms", "locale": "en-US", "body": "{{ name.__class__.__mro__ }}", "variables": [{"name": "name"}]}
    )
    with pytest.raises(templates.RenderFailed):
        templates.render(variant, {"name": "x"})


def test_a_missing_declared_variable_fails_the_render_naming_it() -> None:
    [variant] = [v for v in templates.default_variants("order.ready") if (v.channel, v.locale) == ("sms", "en-US")]
    with pytest.raises(templates.RenderFailed, match="orderNumber"):
        templates.render(variant, {"customerName": "Ana"})


def test_locale_falls_back_to_the_language_then_en_us() -> None:
    variants = templates.default_variants("order.ready")
    assert templates.pick_variant(variants, "sms", "pt-PT") is not None
    assert templates.pick_variant(variants, "sms", "pt-PT").locale == "pt-BR"  # type: ignore[union-attr]
    assert templates.pick_variant(variants, "sms", "da").locale == "da-DK"  # type: ignore[union-attr]
    assert templates.pick_variant(variants, "sms", "fr-FR").locale == "en-US"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("now", "start", "end", "expected"),
    [
        ("2026-03-10T01:30:00+00:00", "21:00", "08:00", "2026-03-10T11:00:00+00:00"),  # 22:30 in São Paulo
        ("2026-03-10T12:00:00+00:00", "21:00", "08:00", None),  # 09:00 local: awake
        ("2026-03-10T10:30:00+00:00", "21:00", "08:00", "2026-03-10T11:00:00+00:00"),  # 07:30 local
        ("2026-03-10T15:30:00+00:00", "12:00", "14:00", "2026-03-10T17:00:00+00:00"),  # lunch break
    ],
)
def test_quiet_hours_end_in_the_tenants_time_zone(now: str, start: str, end: str, expected: str | None) -> None:
    until = quiet_until(datetime.fromisoformat(now), "America/Sao_Paulo", start, end)
    assert (until.astimezone(UTC).isoformat() if until else None) == expected
