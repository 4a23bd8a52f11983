"""Message templates: the shipped defaults (pt-BR, en-US, es-ES, da-DK), validation of declared variables, rendering.

Templates are jinja2 run in a ``SandboxedEnvironment`` with ``StrictUndefined``: a tenant's template cannot reach
Python internals, and a variable that is not there fails the render instead of printing nothing. Every variable a
template uses must be declared (checked when it is saved); a declared, required variable missing when a message is
rendered fails that message visibly (status ``failed``, the variable named in ``lastError``).

WhatsApp variants carry the approved template sent outside the 24-hour window. The shipped ones are named after
the key (``order.confirmed`` → ``order_confirmed``) with the locale as language (``pt_BR``; Danish is ``da``): a
tenant creates templates with those names in its WhatsApp Business account, or points its own variant at another
name.

The shipped texts are data, in ``shipped/templates.json`` (read when a template is first needed, not with the
capability).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.core.errors import FieldError, InvalidInput
from chalicelib.notifications.models import (
    Channel,
    PutTemplateRequest,
    TemplateVariable,
    TemplateVariant,
    WhatsAppTemplate,
)

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

__all__ = [
    "DEFAULT_LOCALES",
    "TEMPLATE_KEY",
    "RenderFailed",
    "Rendered",
    "default_keys",
    "default_variants",
    "pick_variant",
    "render",
    "secret_variables_of",
    "validate_template",
]

DEFAULT_LOCALES = ("pt-BR", "en-US", "es-ES", "da-DK")
# WhatsApp's template languages: Meta names Danish ``da`` (no region); the others as ``pt_BR``.
_META_LANGUAGES = {"da-DK": "da"}
TEMPLATE_KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
_FALLBACK_LOCALE = "en-US"
_SHIPPED = Path(__file__).with_name("shipped") / "templates.json"


class RenderFailed(ValueError):
    """Raised when a message cannot be rendered (a missing variable, a sandbox violation); the message fails."""


@cache
def _environment() -> SandboxedEnvironment:
    # jinja2 is imported when a template is first parsed or rendered, not with the notifications capability.
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


# Templates whose messages a customer is waiting for right now: they go out during quiet hours too.
_URGENT = frozenset(
    {
        "order.received",
        "order.confirmed",
        "order.ready",
        "order.cancelled",
        "order.ready_for_pickup",
        "service_job.ready_for_pickup",
        "appointment.reminder_1h",
        "appointment.pet_ready",
        "order.new",
        "payment.receipt",
        "payment.link",
        "user.invitation",
        "auth.verification_code",
    }
)
_SECRETS = {
    "user.invitation": frozenset({"link"}),
    "auth.verification_code": frozenset({"code"}),
    "payment.link": frozenset({"link"}),
}


def _used_variables(*sources: str) -> list[str]:
    from jinja2 import meta

    names: set[str] = set()
    for source in sources:
        names |= meta.find_undeclared_variables(_environment().parse(source))
    return sorted(names)


def _meta_language(locale: str) -> str:
    return _META_LANGUAGES.get(locale, locale.replace("-", "_"))


def _whatsapp_template(key: str, locale: str, names: list[str]) -> WhatsAppTemplate:
    parameters = [{"type": "text", "text": "{{ " + name + " }}"} for name in names]
    components: list[dict[str, Any]] = [{"type": "body", "parameters": parameters}] if parameters else []
    if key == "auth.verification_code":
        # Authentication templates carry the code again in their copy-code button.
        components.append({"type": "button", "sub_type": "url", "index": "0", "parameters": parameters})
    return WhatsAppTemplate(name=key.replace(".", "_"), language=_meta_language(locale), components=components)


def _in_order(text: str) -> list[str]:
    # WhatsApp template parameters are positional ({{1}}, {{2}}): in the order the text uses the variables.
    return list(dict.fromkeys(re.findall(r"\{\{\s*(\w+)", text)))


def _variant(key: str, channel: Channel, locale: str, subject: str, text: str) -> TemplateVariant:
    secrets = _SECRETS.get(key, frozenset())
    names = _used_variables(text, subject if channel == "email" else "")
    return TemplateVariant(
        channel=channel,
        locale=locale,
        subject=subject if channel in ("email", "push") else None,
        body=text,
        variables=[TemplateVariable(name=n, secret=n in secrets) for n in names],
        whatsapp_template=_whatsapp_template(key, locale, _in_order(text)) if channel == "whatsapp" else None,
        urgent=key in _URGENT,
        source="default",
    )


@cache
def _defaults() -> dict[str, tuple[TemplateVariant, ...]]:
    # Per group of the data file: the channels its templates go out on, and per key and locale (subject, text).
    shipped: dict[str, list[TemplateVariant]] = {}
    for group in json.loads(_SHIPPED.read_text(encoding="utf-8"))["groups"]:
        channels: list[Channel] = group["channels"]
        for key, texts in group["templates"].items():
            for channel in channels:
                for locale, (subject, text) in texts.items():
                    shipped.setdefault(key, []).append(_variant(key, channel, locale, subject, text))
    return {key: tuple(variants) for key, variants in sorted(shipped.items())}


def default_keys() -> list[str]:
    """The keys of the shipped templates, sorted."""
    return list(_defaults())


def default_variants(key: str) -> tuple[TemplateVariant, ...]:
    """The shipped variants of ``key`` (none for a key BTRIX does not ship)."""
    return _defaults().get(key, ())


def secret_variables_of(key: str | None, variants: Iterable[TemplateVariant] = ()) -> list[str]:
    """Variables of ``key`` declared secret by its shipped variants and by ``variants`` (the tenant's)."""
    found: set[str] = set()
    for variant in (*(default_variants(key) if key else ()), *variants):
        found |= {v.name for v in variant.variables if v.secret}
    return sorted(found)


def pick_variant(variants: Iterable[TemplateVariant], channel: Channel, locale: str) -> TemplateVariant | None:
    """The variant for ``channel`` in ``locale``, else in the same language, else in en-US, else any locale."""
    on_channel = [v for v in variants if v.channel == channel]
    language = locale.split("-")[0]
    for matches in (
        lambda v: v.locale == locale,
        lambda v: v.locale.split("-")[0] == language,
        lambda v: v.locale == _FALLBACK_LOCALE,
        lambda v: True,
    ):
        found = next((v for v in on_channel if matches(v)), None)
        if found is not None:
            return found
    return None


# --- validation and rendering ---------------------------------------------------------------------------------


def _strings(value: Any, path: str) -> Iterable[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for name, item in value.items():
            yield from _strings(item, f"{path}.{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def validate_template(request: PutTemplateRequest) -> None:
    """Refuse (422) a template that does not parse or uses a variable it does not declare, naming the field."""
    from jinja2 import TemplateSyntaxError, meta

    declared = {v.name for v in request.variables}
    sources: list[tuple[str, str]] = [("body.body", request.body)]
    if request.subject:
        sources.append(("body.subject", request.subject))
    if request.whatsapp_template is not None:
        components = request.whatsapp_template.components
        sources.extend(_strings(components, "body.whatsappTemplate.components"))
    errors: list[FieldError] = []
    for loc, source in sources:
        try:
            used = meta.find_undeclared_variables(_environment().parse(source))
        except TemplateSyntaxError as exc:
            errors.append(FieldError(loc, f"template syntax error on line {exc.lineno}: {exc.message}", "syntax"))
            continue
        errors.extend(
            FieldError(loc, f"unknown variable '{name}': declare it in variables", "unknown-variable")
            for name in sorted(used - declared)
        )
    if errors:
        raise InvalidInput(detail=f"{len(errors)} problem(s) in the template", errors=tuple(errors))


@dataclass(frozen=True)
class Rendered:
    """A template rendered for one message."""

    subject: str | None
    body: str
    whatsapp_template: dict[str, Any] | None


def _render_value(value: Any, variables: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return _environment().from_string(value).render(variables)
    if isinstance(value, Mapping):
        return {name: _render_value(item, variables) for name, item in value.items()}
    if isinstance(value, list):
        return [_render_value(item, variables) for item in value]
    return value


def render(variant: TemplateVariant, variables: Mapping[str, Any]) -> Rendered:
    """Render ``variant`` with ``variables``; ``RenderFailed`` names a missing declared variable or the error."""
    from jinja2 import TemplateError

    missing = [v.name for v in variant.variables if v.required and variables.get(v.name) in (None, "")]
    if missing:
        raise RenderFailed(f"missing variable(s): {', '.join(missing)}")
    try:
        subject = _render_value(variant.subject, variables) if variant.subject else None
        body = _render_value(variant.body, variables)
        whatsapp = None
        if variant.whatsapp_template is not None:
            reference = variant.whatsapp_template.model_dump(by_alias=False)
            reference["components"] = _render_value(reference["components"], variables)
            whatsapp = reference
    except TemplateError as exc:
        raise RenderFailed(f"template error: {exc}") from exc
    return Rendered(subject=subject, body=str(body), whatsapp_template=whatsapp)
