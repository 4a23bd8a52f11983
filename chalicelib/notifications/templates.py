"""Message templates: the shipped defaults (pt-BR, en-US, es-ES, da-DK), validation of declared variables, rendering.

Templates are jinja2 run in a ``SandboxedEnvironment`` with ``StrictUndefined``: a tenant's template cannot reach
Python internals, and a variable that is not there fails the render instead of printing nothing. Every variable a
template uses must be declared (checked when it is saved); a declared, required variable missing when a message is
rendered fails that message visibly (status ``failed``, the variable named in ``lastError``).

WhatsApp variants carry the approved template sent outside the 24-hour window. The shipped ones are named after
the key (``order.confirmed`` → ``order_confirmed``) with the locale as language (``pt_BR``; Danish is ``da``): a tenant creates
templates with those names in its WhatsApp Business account, or points its own variant at another name.

One responsibility: message templates (the shipped defaults, validation and rendering of one template language).
"""

# Message texts stay on one line each, so that a translator reads and compares them side by side.
# ruff: noqa: E501

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
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


class RenderFailed(ValueError):
    """Raised when a message cannot be rendered (a missing variable, a sandbox violation); the message fails."""


@cache
def _environment() -> SandboxedEnvironment:
    # jinja2 is imported when a template is first parsed or rendered, not with the notifications capability.
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


# --- shipped defaults -----------------------------------------------------------------------------------------
# (subject, text) per locale. Texts use only variables the delivery worker fills from the entity (customerName,
# tenantName, orderNumber, total, startsAt, statusLabel) or that the requesting capability passes.

Texts = dict[str, tuple[str, str]]

_CUSTOMER: dict[str, Texts] = {
    "order.received": {
        "pt-BR": (
            "Pedido recebido",
            "Olá {{ customerName }}, recebemos seu pedido #{{ orderNumber }} na {{ tenantName }}.",
        ),
        "en-US": (
            "Order received",
            "Hi {{ customerName }}, we received your order #{{ orderNumber }} at {{ tenantName }}.",
        ),
        "es-ES": (
            "Pedido recibido",
            "Hola {{ customerName }}, recibimos tu pedido #{{ orderNumber }} en {{ tenantName }}.",
        ),
        "da-DK": (
            "Ordre modtaget",
            "Hej {{ customerName }}, vi har modtaget din ordre #{{ orderNumber }} hos {{ tenantName }}.",
        ),
    },
    "order.confirmed": {
        "pt-BR": (
            "Pedido confirmado",
            "Olá {{ customerName }}, seu pedido #{{ orderNumber }} na {{ tenantName }} foi confirmado. Total: {{ total }}.",
        ),
        "en-US": (
            "Order confirmed",
            "Hi {{ customerName }}, your order #{{ orderNumber }} at {{ tenantName }} is confirmed. Total: {{ total }}.",
        ),
        "es-ES": (
            "Pedido confirmado",
            "Hola {{ customerName }}, tu pedido #{{ orderNumber }} en {{ tenantName }} está confirmado. Total: {{ total }}.",
        ),
        "da-DK": (
            "Ordre bekræftet",
            "Hej {{ customerName }}, din ordre #{{ orderNumber }} hos {{ tenantName }} er bekræftet. I alt: {{ total }}.",
        ),
    },
    "order.ready": {
        "pt-BR": ("Pedido pronto", "{{ customerName }}, seu pedido #{{ orderNumber }} está pronto!"),
        "en-US": ("Order ready", "{{ customerName }}, your order #{{ orderNumber }} is ready!"),
        "es-ES": ("Pedido listo", "{{ customerName }}, ¡tu pedido #{{ orderNumber }} está listo!"),
        "da-DK": (
            "Ordre klar",
            "{{ customerName }}, din ordre #{{ orderNumber }} er klar!",
        ),
    },
    "order.cancelled": {
        "pt-BR": ("Pedido cancelado", "{{ customerName }}, seu pedido #{{ orderNumber }} foi cancelado."),
        "en-US": ("Order cancelled", "{{ customerName }}, your order #{{ orderNumber }} was cancelled."),
        "es-ES": ("Pedido cancelado", "{{ customerName }}, tu pedido #{{ orderNumber }} fue cancelado."),
        "da-DK": (
            "Ordre annulleret",
            "{{ customerName }}, din ordre #{{ orderNumber }} er blevet annulleret.",
        ),
    },
    "order.shipped": {
        "pt-BR": ("Pedido enviado", "{{ customerName }}, seu pedido #{{ orderNumber }} foi enviado."),
        "en-US": ("Order shipped", "{{ customerName }}, your order #{{ orderNumber }} has shipped."),
        "es-ES": ("Pedido enviado", "{{ customerName }}, tu pedido #{{ orderNumber }} fue enviado."),
        "da-DK": (
            "Ordre afsendt",
            "{{ customerName }}, din ordre #{{ orderNumber }} er afsendt.",
        ),
    },
    "order.delivered": {
        "pt-BR": ("Pedido entregue", "{{ customerName }}, seu pedido #{{ orderNumber }} foi entregue."),
        "en-US": ("Order delivered", "{{ customerName }}, your order #{{ orderNumber }} was delivered."),
        "es-ES": ("Pedido entregado", "{{ customerName }}, tu pedido #{{ orderNumber }} fue entregado."),
        "da-DK": (
            "Ordre leveret",
            "{{ customerName }}, din ordre #{{ orderNumber }} er leveret.",
        ),
    },
    "order.ready_for_pickup": {
        "pt-BR": (
            "Pronto para retirada",
            "{{ customerName }}, seu pedido #{{ orderNumber }} está pronto para retirada.",
        ),
        "en-US": ("Ready for pickup", "{{ customerName }}, your order #{{ orderNumber }} is ready for pickup."),
        "es-ES": ("Listo para recoger", "{{ customerName }}, tu pedido #{{ orderNumber }} está listo para recoger."),
        "da-DK": (
            "Klar til afhentning",
            "{{ customerName }}, din ordre #{{ orderNumber }} er klar til afhentning.",
        ),
    },
    "order.quote_sent": {
        "pt-BR": ("Orçamento", "{{ customerName }}, seu orçamento #{{ orderNumber }} está pronto: {{ total }}."),
        "en-US": ("Your quote", "{{ customerName }}, your quote #{{ orderNumber }} is ready: {{ total }}."),
        "es-ES": ("Tu presupuesto", "{{ customerName }}, tu presupuesto #{{ orderNumber }} está listo: {{ total }}."),
        "da-DK": (
            "Dit tilbud",
            "{{ customerName }}, dit tilbud #{{ orderNumber }} er klar: {{ total }}.",
        ),
    },
    "order.quote_reminder": {
        "pt-BR": ("Orçamento aguardando", "{{ customerName }}, seu orçamento #{{ orderNumber }} aguarda aprovação."),
        "en-US": ("Quote waiting", "{{ customerName }}, your quote #{{ orderNumber }} is waiting for your approval."),
        "es-ES": (
            "Presupuesto pendiente",
            "{{ customerName }}, tu presupuesto #{{ orderNumber }} espera tu aprobación.",
        ),
        "da-DK": (
            "Tilbud afventer",
            "{{ customerName }}, dit tilbud #{{ orderNumber }} venter på din godkendelse.",
        ),
    },
    "order.payment_reminder": {
        "pt-BR": ("Pagamento pendente", "{{ customerName }}, o pagamento do pedido #{{ orderNumber }} está pendente."),
        "en-US": ("Payment pending", "{{ customerName }}, the payment of order #{{ orderNumber }} is still pending."),
        "es-ES": ("Pago pendiente", "{{ customerName }}, el pago del pedido #{{ orderNumber }} está pendiente."),
        "da-DK": (
            "Betaling mangler",
            "{{ customerName }}, betalingen for ordre #{{ orderNumber }} mangler stadig.",
        ),
    },
    "service_job.quote_sent": {
        "pt-BR": ("Orçamento", "{{ customerName }}, o orçamento do seu serviço na {{ tenantName }} está pronto."),
        "en-US": ("Your quote", "{{ customerName }}, the quote for your service at {{ tenantName }} is ready."),
        "es-ES": (
            "Tu presupuesto",
            "{{ customerName }}, el presupuesto de tu servicio en {{ tenantName }} está listo.",
        ),
        "da-DK": (
            "Dit tilbud",
            "{{ customerName }}, tilbuddet på din opgave hos {{ tenantName }} er klar.",
        ),
    },
    "service_job.quote_reminder": {
        "pt-BR": ("Orçamento aguardando", "{{ customerName }}, o orçamento do seu serviço aguarda aprovação."),
        "en-US": ("Quote waiting", "{{ customerName }}, the quote for your service is waiting for your approval."),
        "es-ES": ("Presupuesto pendiente", "{{ customerName }}, el presupuesto de tu servicio espera tu aprobación."),
        "da-DK": (
            "Tilbud afventer",
            "{{ customerName }}, tilbuddet på din opgave venter på din godkendelse.",
        ),
    },
    "service_job.ready_for_pickup": {
        "pt-BR": (
            "Pronto para retirada",
            "{{ customerName }}, seu serviço na {{ tenantName }} está pronto para retirada.",
        ),
        "en-US": ("Ready for pickup", "{{ customerName }}, your service at {{ tenantName }} is ready for pickup."),
        "es-ES": ("Listo para recoger", "{{ customerName }}, tu servicio en {{ tenantName }} está listo para recoger."),
        "da-DK": (
            "Klar til afhentning",
            "{{ customerName }}, din opgave hos {{ tenantName }} er klar til afhentning.",
        ),
    },
    "service_job.cancelled": {
        "pt-BR": ("Serviço cancelado", "{{ customerName }}, seu serviço na {{ tenantName }} foi cancelado."),
        "en-US": ("Service cancelled", "{{ customerName }}, your service at {{ tenantName }} was cancelled."),
        "es-ES": ("Servicio cancelado", "{{ customerName }}, tu servicio en {{ tenantName }} fue cancelado."),
        "da-DK": (
            "Opgave annulleret",
            "{{ customerName }}, din opgave hos {{ tenantName }} er blevet annulleret.",
        ),
    },
    "appointment.confirmed": {
        "pt-BR": (
            "Agendamento confirmado",
            "{{ customerName }}, seu horário na {{ tenantName }} está confirmado: {{ startsAt }}.",
        ),
        "en-US": (
            "Appointment confirmed",
            "{{ customerName }}, your appointment at {{ tenantName }} is confirmed: {{ startsAt }}.",
        ),
        "es-ES": (
            "Cita confirmada",
            "{{ customerName }}, tu cita en {{ tenantName }} está confirmada: {{ startsAt }}.",
        ),
        "da-DK": (
            "Aftale bekræftet",
            "{{ customerName }}, din aftale hos {{ tenantName }} er bekræftet: {{ startsAt }}.",
        ),
    },
    "appointment.cancelled": {
        "pt-BR": ("Agendamento cancelado", "{{ customerName }}, seu horário de {{ startsAt }} foi cancelado."),
        "en-US": ("Appointment cancelled", "{{ customerName }}, your appointment on {{ startsAt }} was cancelled."),
        "es-ES": ("Cita cancelada", "{{ customerName }}, tu cita del {{ startsAt }} fue cancelada."),
        "da-DK": (
            "Aftale aflyst",
            "{{ customerName }}, din aftale {{ startsAt }} er blevet aflyst.",
        ),
    },
    "appointment.reminder_24h": {
        "pt-BR": ("Lembrete", "{{ customerName }}, lembrete: amanhã, {{ startsAt }}, na {{ tenantName }}."),
        "en-US": ("Reminder", "{{ customerName }}, a reminder: tomorrow, {{ startsAt }}, at {{ tenantName }}."),
        "es-ES": ("Recordatorio", "{{ customerName }}, recordatorio: mañana, {{ startsAt }}, en {{ tenantName }}."),
        "da-DK": (
            "Påmindelse",
            "{{ customerName }}, en påmindelse: i morgen, {{ startsAt }}, hos {{ tenantName }}.",
        ),
    },
    "appointment.reminder_1h": {
        "pt-BR": (
            "Lembrete",
            "{{ customerName }}, seu horário na {{ tenantName }} é daqui a uma hora ({{ startsAt }}).",
        ),
        "en-US": (
            "Reminder",
            "{{ customerName }}, your appointment at {{ tenantName }} is in one hour ({{ startsAt }}).",
        ),
        "es-ES": ("Recordatorio", "{{ customerName }}, tu cita en {{ tenantName }} es en una hora ({{ startsAt }})."),
        "da-DK": (
            "Påmindelse",
            "{{ customerName }}, din aftale hos {{ tenantName }} er om en time ({{ startsAt }}).",
        ),
    },
    "appointment.pet_ready": {
        "pt-BR": ("Seu pet está pronto", "{{ customerName }}, seu pet está pronto para buscar na {{ tenantName }}."),
        "en-US": ("Your pet is ready", "{{ customerName }}, your pet is ready for pickup at {{ tenantName }}."),
        "es-ES": (
            "Tu mascota está lista",
            "{{ customerName }}, tu mascota está lista para recoger en {{ tenantName }}.",
        ),
        "da-DK": (
            "Dit kæledyr er klar",
            "{{ customerName }}, dit kæledyr er klar til at blive hentet hos {{ tenantName }}.",
        ),
    },
    "sale.scheduled": {
        "pt-BR": ("Serviço agendado", "{{ customerName }}, seu serviço com a {{ tenantName }} foi agendado."),
        "en-US": ("Service scheduled", "{{ customerName }}, your service with {{ tenantName }} is scheduled."),
        "es-ES": ("Servicio programado", "{{ customerName }}, tu servicio con {{ tenantName }} está programado."),
        "da-DK": (
            "Opgave planlagt",
            "{{ customerName }}, din opgave hos {{ tenantName }} er planlagt.",
        ),
    },
    "payment.link": {
        "pt-BR": (
            "Link de pagamento",
            "{{ customerName }}, pague seu pedido #{{ orderNumber }} ({{ total }}) na {{ tenantName }} por este link, válido por {{ minutes }} minutos: {{ link }}",
        ),
        "en-US": (
            "Payment link",
            "{{ customerName }}, pay for your order #{{ orderNumber }} ({{ total }}) at {{ tenantName }} with this link, valid for {{ minutes }} minutes: {{ link }}",
        ),
        "es-ES": (
            "Enlace de pago",
            "{{ customerName }}, paga tu pedido #{{ orderNumber }} ({{ total }}) en {{ tenantName }} con este enlace, válido durante {{ minutes }} minutos: {{ link }}",
        ),
        "da-DK": (
            "Betalingslink",
            "{{ customerName }}, betal din ordre #{{ orderNumber }} ({{ total }}) hos {{ tenantName }} via dette link, som gælder i {{ minutes }} minutter: {{ link }}",
        ),
    },
    "payment.receipt": {
        "pt-BR": (
            "Pagamento recebido",
            "{{ customerName }}, recebemos seu pagamento de {{ amount }} ({{ provider }}) do pedido #{{ orderNumber }} na {{ tenantName }}. Comprovante {{ paymentId }}. Obrigado!",
        ),
        "en-US": (
            "Payment received",
            "{{ customerName }}, we received your payment of {{ amount }} ({{ provider }}) for order #{{ orderNumber }} at {{ tenantName }}. Receipt {{ paymentId }}. Thank you!",
        ),
        "es-ES": (
            "Pago recibido",
            "{{ customerName }}, recibimos tu pago de {{ amount }} ({{ provider }}) del pedido #{{ orderNumber }} en {{ tenantName }}. Comprobante {{ paymentId }}. ¡Gracias!",
        ),
        "da-DK": (
            "Betaling modtaget",
            "{{ customerName }}, vi har modtaget din betaling på {{ amount }} ({{ provider }}) for ordre #{{ orderNumber }} hos {{ tenantName }}. Kvittering {{ paymentId }}. Tak!",
        ),
    },
}

_STAFF: dict[str, Texts] = {
    "payment.mismatch": {
        "pt-BR": (
            "Pagamento com valor divergente",
            "O pagamento {{ paymentId }} ({{ provider }}) do pedido {{ orderNumber }} foi de {{ paid }}, mas o pedido é de {{ expected }}. O pedido continua em aberto; reembolse o pagamento (POST /payments/{{ paymentId }}/refunds) e envie um novo link.",
        ),
        "en-US": (
            "Payment with the wrong amount",
            "Payment {{ paymentId }} ({{ provider }}) of order {{ orderNumber }} was {{ paid }}, but the order is {{ expected }}. The order stays unpaid; refund the payment (POST /payments/{{ paymentId }}/refunds) and send a new link.",
        ),
        "es-ES": (
            "Pago con importe distinto",
            "El pago {{ paymentId }} ({{ provider }}) del pedido {{ orderNumber }} fue de {{ paid }}, pero el pedido es de {{ expected }}. El pedido sigue sin pagar; reembolsa el pago (POST /payments/{{ paymentId }}/refunds) y envía un nuevo enlace.",
        ),
        "da-DK": (
            "Betaling med forkert beløb",
            "Betalingen {{ paymentId }} ({{ provider }}) for ordre {{ orderNumber }} var på {{ paid }}, men ordren er på {{ expected }}. Ordren er stadig ubetalt; refundér betalingen (POST /payments/{{ paymentId }}/refunds) og send et nyt link.",
        ),
    },
    "order.new": {
        "pt-BR": ("Novo pedido", "Novo pedido #{{ orderNumber }}: {{ total }}."),
        "en-US": ("New order", "New order #{{ orderNumber }}: {{ total }}."),
        "es-ES": ("Nuevo pedido", "Nuevo pedido #{{ orderNumber }}: {{ total }}."),
        "da-DK": (
            "Ny ordre",
            "Ny ordre #{{ orderNumber }}: {{ total }}.",
        ),
    },
    "order.quote_requested": {
        "pt-BR": ("Orçamento solicitado", "Orçamento solicitado: pedido #{{ orderNumber }}."),
        "en-US": ("Quote requested", "Quote requested: order #{{ orderNumber }}."),
        "es-ES": ("Presupuesto solicitado", "Presupuesto solicitado: pedido #{{ orderNumber }}."),
        "da-DK": (
            "Tilbud ønsket",
            "Tilbud ønsket: ordre #{{ orderNumber }}.",
        ),
    },
    "order.quote_approved": {
        "pt-BR": ("Orçamento aprovado", "O orçamento do pedido #{{ orderNumber }} foi aprovado."),
        "en-US": ("Quote approved", "The quote of order #{{ orderNumber }} was approved."),
        "es-ES": ("Presupuesto aprobado", "El presupuesto del pedido #{{ orderNumber }} fue aprobado."),
        "da-DK": (
            "Tilbud godkendt",
            "Tilbuddet på ordre #{{ orderNumber }} er godkendt.",
        ),
    },
    "service_job.quote_requested": {
        "pt-BR": ("Orçamento solicitado", "Um cliente pediu um orçamento de serviço."),
        "en-US": ("Quote requested", "A customer asked for a service quote."),
        "es-ES": ("Presupuesto solicitado", "Un cliente pidió un presupuesto de servicio."),
        "da-DK": (
            "Tilbud ønsket",
            "En kunde har bedt om et tilbud på en opgave.",
        ),
    },
    "service_job.quote_approved": {
        "pt-BR": ("Orçamento aprovado", "Um orçamento de serviço foi aprovado."),
        "en-US": ("Quote approved", "A service quote was approved."),
        "es-ES": ("Presupuesto aprobado", "Un presupuesto de servicio fue aprobado."),
        "da-DK": (
            "Tilbud godkendt",
            "Et tilbud på en opgave er godkendt.",
        ),
    },
    "appointment.requested": {
        "pt-BR": ("Novo agendamento", "Novo agendamento solicitado para {{ startsAt }}."),
        "en-US": ("New appointment", "New appointment requested for {{ startsAt }}."),
        "es-ES": ("Nueva cita", "Nueva cita solicitada para {{ startsAt }}."),
        "da-DK": (
            "Ny aftale",
            "Ny aftale ønsket til {{ startsAt }}.",
        ),
    },
    "marketplace.sale_received": {
        "pt-BR": (
            "Nova venda no marketplace",
            "{{ buyerName }} comprou {{ quantity }} x {{ productName }} ({{ code }}) no marketplace: {{ total }}. Confirme a venda (unidades reservadas).",
        ),
        "en-US": (
            "New marketplace sale",
            "{{ buyerName }} bought {{ quantity }} x {{ productName }} ({{ code }}) on the marketplace: {{ total }}. Confirm the sale (units reserved).",
        ),
        "es-ES": (
            "Nueva venta en el marketplace",
            "{{ buyerName }} compró {{ quantity }} x {{ productName }} ({{ code }}) en el marketplace: {{ total }}. Confirma la venta (unidades reservadas).",
        ),
        "da-DK": (
            "Nyt salg på markedspladsen",
            "{{ buyerName }} har købt {{ quantity }} x {{ productName }} ({{ code }}) på markedspladsen: {{ total }}. Bekræft salget (enhederne er reserveret).",
        ),
    },
    "marketplace.purchase_placed": {
        "pt-BR": (
            "Compra no marketplace",
            "Pedido de {{ quantity }} x {{ productName }} ({{ code }}) enviado a {{ sellerName }}: {{ total }}. Fale com o vendedor no WhatsApp: {{ waLink }}",
        ),
        "en-US": (
            "Marketplace purchase",
            "Order of {{ quantity }} x {{ productName }} ({{ code }}) sent to {{ sellerName }}: {{ total }}. Talk to the seller on WhatsApp: {{ waLink }}",
        ),
        "es-ES": (
            "Compra en el marketplace",
            "Pedido de {{ quantity }} x {{ productName }} ({{ code }}) enviado a {{ sellerName }}: {{ total }}. Habla con el vendedor por WhatsApp: {{ waLink }}",
        ),
        "da-DK": (
            "Køb på markedspladsen",
            "Ordre på {{ quantity }} x {{ productName }} ({{ code }}) sendt til {{ sellerName }}: {{ total }}. Skriv til sælgeren på WhatsApp: {{ waLink }}",
        ),
    },
    "marketplace.purchase_status": {
        "pt-BR": (
            "Compra no marketplace: {{ status }}",
            "Sua compra de {{ quantity }} x {{ productName }} ({{ code }}) está agora {{ status }}.",
        ),
        "en-US": (
            "Marketplace purchase: {{ status }}",
            "Your purchase of {{ quantity }} x {{ productName }} ({{ code }}) is now {{ status }}.",
        ),
        "es-ES": (
            "Compra en el marketplace: {{ status }}",
            "Tu compra de {{ quantity }} x {{ productName }} ({{ code }}) está ahora {{ status }}.",
        ),
        "da-DK": (
            "Køb på markedspladsen: {{ status }}",
            "Dit køb af {{ quantity }} x {{ productName }} ({{ code }}) er nu {{ status }}.",
        ),
    },
    "lead.follow_up": {
        "pt-BR": ("Lead para retomar", "Chegou a hora de retomar o contato com um lead ({{ statusLabel }})."),
        "en-US": ("Lead to follow up", "It is time to follow up a lead ({{ statusLabel }})."),
        "es-ES": ("Lead para retomar", "Es hora de retomar el contacto con un lead ({{ statusLabel }})."),
        "da-DK": (
            "Lead til opfølgning",
            "Det er tid til at følge op på et lead ({{ statusLabel }}).",
        ),
    },
}

_INVITATION: Texts = {
    "pt-BR": (
        "Convite para a {{ tenantName }}",
        "Olá {{ name }}, você foi convidado para a {{ tenantName }} no BTRIX. Defina sua senha: {{ link }} "
        "(válido até {{ expiresAt }}).",
    ),
    "en-US": (
        "Your invitation to {{ tenantName }}",
        "Hi {{ name }}, you were invited to {{ tenantName }} on BTRIX. Set your password: {{ link }} "
        "(valid until {{ expiresAt }}).",
    ),
    "es-ES": (
        "Invitación a {{ tenantName }}",
        "Hola {{ name }}, te invitaron a {{ tenantName }} en BTRIX. Define tu contraseña: {{ link }} "
        "(válido hasta {{ expiresAt }}).",
    ),
    "da-DK": (
        "Din invitation til {{ tenantName }}",
        "Hej {{ name }}, du er inviteret til {{ tenantName }} på BTRIX. Vælg din adgangskode: {{ link }} (gyldig indtil {{ expiresAt }}).",
    ),
}

_CODE: Texts = {
    "pt-BR": ("Código de verificação", "Seu código de verificação BTRIX é {{ code }}. Não o compartilhe."),
    "en-US": ("Verification code", "Your BTRIX verification code is {{ code }}. Do not share it."),
    "es-ES": ("Código de verificación", "Tu código de verificación de BTRIX es {{ code }}. No lo compartas."),
    "da-DK": (
        "Bekræftelseskode",
        "Din BTRIX-bekræftelseskode er {{ code }}. Del den ikke med nogen.",
    ),
}

# To the tenant's ADMINs when a Bitrix24 portal of the WhatsApp gateway stops letting BTRIX in (channels.tokens).
_CHANNEL_DISCONNECTED: Texts = {
    "pt-BR": (
        "Bitrix24 desconectado: {{ channelName }}",
        "O portal Bitrix24 {{ portalDomain }} ({{ channelName }}) foi desconectado do BTRIX: {{ reason }}. As mensagens do WhatsApp continuam guardadas, mas não chegam ao Bitrix24 até que um administrador reconecte o portal (Canais → novo link de instalação).",
    ),
    "en-US": (
        "Bitrix24 disconnected: {{ channelName }}",
        "The Bitrix24 portal {{ portalDomain }} ({{ channelName }}) was disconnected from BTRIX: {{ reason }}. WhatsApp messages are still kept, but they do not reach Bitrix24 until an admin reconnects the portal (Channels → new install link).",
    ),
    "es-ES": (
        "Bitrix24 desconectado: {{ channelName }}",
        "El portal Bitrix24 {{ portalDomain }} ({{ channelName }}) se desconectó de BTRIX: {{ reason }}. Los mensajes de WhatsApp se siguen guardando, pero no llegan a Bitrix24 hasta que un administrador reconecte el portal (Canales → nuevo enlace de instalación).",
    ),
    "da-DK": (
        "Bitrix24 afbrudt: {{ channelName }}",
        "Bitrix24-portalen {{ portalDomain }} ({{ channelName }}) blev afbrudt fra BTRIX: {{ reason }}. WhatsApp-beskeder gemmes stadig, men de når ikke frem til Bitrix24, før en administrator forbinder portalen igen (Kanaler → nyt installationslink).",
    ),
}

_ASSISTANT_BUDGET: Texts = {
    "pt-BR": (
        "Assistente do WhatsApp: limite de tokens do mês atingido",
        "O assistente com IA usou os {{ budget }} tokens do plano em {{ month }}. Até o fim do mês ele responde no modo sem IA (menus e botões); compras e atendimento continuam.",
    ),
    "en-US": (
        "WhatsApp assistant: the month's token budget is spent",
        "The AI assistant used the plan's {{ budget }} tokens for {{ month }}. Until the month ends it answers in its mode without AI (menus and buttons); purchases and handovers go on.",
    ),
    "es-ES": (
        "Asistente de WhatsApp: límite de tokens del mes alcanzado",
        "El asistente con IA usó los {{ budget }} tokens del plan en {{ month }}. Hasta fin de mes responde en modo sin IA (menús y botones); las compras y la atención siguen.",
    ),
    "da-DK": (
        "WhatsApp-assistent: månedens tokenbudget er brugt",
        "AI-assistenten har brugt planens {{ budget }} tokens for {{ month }}. Indtil måneden er omme, svarer den uden AI (menuer og knapper); køb og overdragelse til en medarbejder fortsætter.",
    ),
}

_INTEGRATION_DISCONNECTED: Texts = {
    "pt-BR": (
        "Integração desconectada: {{ providerName }}",
        "A integração {{ providerName }} foi desconectada do BTRIX: {{ reason }}. Nada é enviado a ela até que um administrador a reconecte (Integrações).",
    ),
    "en-US": (
        "Integration disconnected: {{ providerName }}",
        "The {{ providerName }} integration was disconnected from BTRIX: {{ reason }}. Nothing goes to it until an admin reconnects it (Integrations).",
    ),
    "es-ES": (
        "Integración desconectada: {{ providerName }}",
        "La integración {{ providerName }} se desconectó de BTRIX: {{ reason }}. No se le envía nada hasta que un administrador la reconecte (Integraciones).",
    ),
    "da-DK": (
        "Integration afbrudt: {{ providerName }}",
        "Integrationen {{ providerName }} blev afbrudt fra BTRIX: {{ reason }}. Intet sendes til den, før en administrator forbinder den igen (Integrationer).",
    ),
}

_BILLING: dict[str, Texts] = {
    "billing.payment_failed": {
        "pt-BR": (
            "Pagamento do plano {{ planName }} recusado",
            "A cobrança de {{ amount }} do seu plano {{ planName }} no BTRIX foi recusada. Tentaremos de novo; atualize o meio de pagamento (Cobrança) até {{ graceUntil }} para a conta não ser suspensa.",
        ),
        "en-US": (
            "Payment for the {{ planName }} plan failed",
            "The {{ amount }} charge for your BTRIX {{ planName }} plan was declined. It will be retried; update the payment method (Billing) by {{ graceUntil }} or the account will be suspended.",
        ),
        "es-ES": (
            "Pago del plan {{ planName }} rechazado",
            "El cobro de {{ amount }} de su plan {{ planName }} en BTRIX fue rechazado. Se reintentará; actualice el medio de pago (Facturación) antes del {{ graceUntil }} o la cuenta será suspendida.",
        ),
        "da-DK": (
            "Betaling for {{ planName }}-planen mislykkedes",
            "Opkrævningen på {{ amount }} for jeres BTRIX {{ planName }}-plan blev afvist. Den forsøges igen; opdater betalingsmetoden (Fakturering) senest {{ graceUntil }}, ellers suspenderes kontoen.",
        ),
    },
    "billing.suspended": {
        "pt-BR": (
            "Conta suspensa: plano {{ planName }} sem pagamento",
            "O período de carência do plano {{ planName }} ({{ amount }}) terminou sem pagamento e a conta foi suspensa. Só a Cobrança continua disponível; um pagamento reativa a conta na hora.",
        ),
        "en-US": (
            "Account suspended: {{ planName }} plan unpaid",
            "The grace period of the {{ planName }} plan ({{ amount }}) ended unpaid and the account was suspended. Only Billing stays available; a payment reactivates the account at once.",
        ),
        "es-ES": (
            "Cuenta suspendida: plan {{ planName }} impago",
            "El período de gracia del plan {{ planName }} ({{ amount }}) terminó sin pago y la cuenta fue suspendida. Solo Facturación sigue disponible; un pago reactiva la cuenta al instante.",
        ),
        "da-DK": (
            "Konto suspenderet: {{ planName }}-planen er ikke betalt",
            "Henstandsperioden for {{ planName }}-planen ({{ amount }}) udløb uden betaling, og kontoen er suspenderet. Kun Fakturering er tilgængelig; en betaling genaktiverer kontoen med det samme.",
        ),
    },
}

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
    shipped: dict[str, list[TemplateVariant]] = {}
    groups: list[tuple[Mapping[str, Texts], tuple[Channel, ...]]] = [
        (_CUSTOMER, ("whatsapp", "sms", "email")),
        (_STAFF, ("push", "email")),
        ({"user.invitation": _INVITATION}, ("email",)),
        ({"auth.verification_code": _CODE}, ("whatsapp", "sms")),
        ({"channel.disconnected": _CHANNEL_DISCONNECTED}, ("email",)),
        ({"integration.disconnected": _INTEGRATION_DISCONNECTED}, ("email",)),
        (_BILLING, ("email",)),
        ({"assistant.budget_exhausted": _ASSISTANT_BUDGET}, ("email",)),
    ]
    for texts_by_key, channels in groups:
        for key, texts in texts_by_key.items():
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
