"""The WhatsApp shop assistant in ``make run``: the fake OpenAI-compatible LLM, and the shell lines that switch the
restaurant's demo number to the assistant and play a purchase in WhatsApp that ends with a payment link.

When the fake providers are on, the runner starts ``FakeLLM`` (its shopper model: it searches, adds to the cart and
checks out with the tools, and writes its answers from their results). The banner's lines log in as the restaurant's
ADMIN, ``PUT /channels/<demo number>/assistant`` (deterministic; the line after it uses the fake LLM instead),
define ``wa``, a shell function that posts a signed WhatsApp text from the demo customer to the Meta function, write
``oi``, ``2 <pizza code>`` and ``finalizar``, and print what the customer received on the fake Meta: the menu, the
cart and the order with its payment link (``/pay/…``, payable as the payments section shows). A commented line
shows the configuration whose timer reminds the customer of an unpaid link 20 seconds after the checkout.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.access.principal import Principal
    from localdev.fake_llm import FakeLLM

__all__ = ["DEMO_LLM_KEY", "DEMO_PRODUCT", "assistant_lines", "demo_product_code", "start_fake_llm"]

DEMO_LLM_KEY = "sk-local-fake-llm"
DEMO_PRODUCT = "Pizza Margherita"  # seeded with stock for the restaurant


def start_fake_llm(enabled: bool, port: int) -> FakeLLM | None:
    """The fake LLM on ``port`` (none when the fakes are off)."""
    if not enabled:
        return None
    from localdev.fake_llm import FakeLLM

    return FakeLLM(port, api_key=DEMO_LLM_KEY).start()


def demo_product_code(admin: Principal) -> str | None:
    """The code of the restaurant's demo pizza (None: not seeded)."""
    from chalicelib.catalog import service as catalog
    from chalicelib.catalog.models import ProductListQuery
    from chalicelib.core.db.store import tenant_scope

    with tenant_scope(admin.tenant_id):
        page = catalog.list_products(admin, ProductListQuery.model_validate({"q": DEMO_PRODUCT, "active": True}))
    return page.items[0].code if page.items else None


def assistant_lines(
    *,
    api: str,
    channel_id: str,
    llm_url: str | None,
    meta_url: str,
    product_code: str,
    play: list[str],
    customer: str,
) -> list[str]:
    """Shell lines (bash, after the login lines that set ``$token``): switch the number to the assistant, define
    ``wa`` from ``play`` (a signed message whose text is ``$1``), buy, and print what the customer received."""
    put = f'curl -s -X PUT {api}/channels/{channel_id}/assistant -H "Authorization: Bearer $token"'
    put += " -H 'Content-Type: application/json'"
    lines = [f"{put} -d '{json.dumps({'mode': 'assistant', 'language': 'pt-BR'})}'; echo"]
    if llm_url:
        model = {"baseUrl": llm_url, "model": "fake-shop", "apiKey": DEMO_LLM_KEY}
        llm = {"mode": "assistant", "language": "pt-BR", "llm": model}
        lines.append(f"# with the fake LLM instead: {put} -d '{json.dumps(llm)}'")
    reminder = {"mode": "assistant", "language": "pt-BR", "followUps": {"checkoutReminderSeconds": 20}}
    lines.append(
        f"# an unpaid link reminded 20 s after the checkout (a Step Functions timer): {put} -d '{json.dumps(reminder)}'"
        " before the purchase, then print again after 25 s"
    )
    show = [
        f'curl -s {meta_url}/_received | python3 -c "import json, sys',
        "for m in json.load(sys.stdin)['received']:",
        "  b = m.get('body')",
        f"  if isinstance(b, dict) and b.get('to') == '{customer}' and b.get('type') in ('text', 'interactive'):",
        "    print('<-', b['text']['body'] if b['type'] == 'text' else b['interactive']['body']['text'])\"",
    ]
    return [
        *lines,
        "wa() {",
        *[f"  {line}" for line in play],
        "}",
        f"wa oi; sleep 3; wa '2 {product_code}'; sleep 3; wa finalizar; sleep 5",
        *show,
    ]
