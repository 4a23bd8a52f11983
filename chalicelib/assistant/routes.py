"""Assistant routes: the shop assistant of a WhatsApp number (ADMIN: channels:manage; read by whoever may read
conversations)."""

from __future__ import annotations

from chalicelib.access.permissions import Module, Permission
from chalicelib.access.principal import Principal
from chalicelib.assistant import service
from chalicelib.assistant.models import AssistantConfig, AssistantConfigRequest
from chalicelib.auth.guard import protected_blueprint

blueprint = protected_blueprint(__name__, tag="assistant")


@blueprint.operation(
    "/channels/{channel_id}/assistant",
    response=AssistantConfig,
    problems=(404,),
    permission=Permission.CONVERSATIONS_READ,
    module=Module.ASSISTANT,
)
def get_assistant(channel_id: str, principal: Principal) -> AssistantConfig:
    """Read a number's shop assistant

    Its mode (gateway: no assistant), persona, language, business hours, greeting, handover keywords, and its LLM
    (base URL and model; the key is never shown, `apiKeySet` says whether one is stored).
    """
    return service.get_assistant(principal, channel_id)


@blueprint.operation(
    "/channels/{channel_id}/assistant",
    "PUT",
    body=AssistantConfigRequest,
    response=AssistantConfig,
    problems=(404, 409, 422),
    permission=Permission.CHANNELS_MANAGE,
    module=Module.ASSISTANT,
)
def put_assistant(channel_id: str, body: AssistantConfigRequest, principal: Principal) -> AssistantConfig:
    """Set a number's shop assistant

    `mode`: gateway (every message to Bitrix24, as before), assistant (the assistant answers; a handover shows the
    conversation as needs_human and a BTRIX agent answers), assistant_then_gateway (the assistant answers; a
    handover opens the Bitrix24 Open Lines chat with a summary and the cart). `llm` null: the deterministic
    assistant (menus, buttons, commands); else an OpenAI-compatible endpoint whose key is stored encrypted (left
    out: the stored key is kept). `followUps`: the reminder of an unpaid checkout (`checkoutReminderSeconds`, under
    the payment link's hour) and of an abandoned cart (`abandonedCartSeconds`), and the templates they use outside
    the customer's 24-hour window (none: nothing is sent there). 409 when another change was written meanwhile.
    """
    return service.put_assistant(principal, channel_id, body)
