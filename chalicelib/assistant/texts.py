"""What the assistant says, in the tenant's language (pt-BR, en-US, es-ES, da-DK), and the words it understands.

The deterministic brain speaks only these sentences (products, prices and links come from the tools); the LLM brain
falls back on them when its own answer cannot be trusted or it cannot be reached.
"""

from __future__ import annotations

from typing import Any

from chalicelib.assistant.models import Language

__all__ = [
    "COMMANDS",
    "DEFAULT_HANDOVER",
    "cart_text",
    "expiry_text",
    "link_text",
    "local_expiry",
    "product_lines",
    "say",
    "shipped_sentences",
    "status_text",
]

_TEXTS: dict[str, dict[str, str]] = {
    "greeting": {
        "pt-BR": "Olá! Sou o assistente da loja. Veja nossos produtos ou escreva o que procura.",
        "en-US": "Hi! I am the shop's assistant. See our products or write what you are looking for.",
        "es-ES": "¡Hola! Soy el asistente de la tienda. Mira nuestros productos o escribe lo que buscas.",
        "da-DK": "Hej! Jeg er butikkens assistent. Se vores produkter, eller skriv, hvad du leder efter.",
    },
    "products": {"pt-BR": "Produtos", "en-US": "Products", "es-ES": "Productos", "da-DK": "Produkter"},
    "see_products": {
        "pt-BR": "Ver produtos",
        "en-US": "See products",
        "es-ES": "Ver productos",
        "da-DK": "Se produkter",
    },
    "pick_one": {
        "pt-BR": "Escolha um produto:",
        "en-US": "Pick a product:",
        "es-ES": "Elige un producto:",
        "da-DK": "Vælg et produkt:",
    },
    "none_found": {
        "pt-BR": "Não encontrei produtos para “{query}”. Escreva *menu* para ver o catálogo.",
        "en-US": "I found no products for “{query}”. Write *menu* to see the catalog.",
        "es-ES": "No encontré productos para “{query}”. Escribe *menu* para ver el catálogo.",
        "da-DK": "Jeg fandt ingen produkter for “{query}”. Skriv *menu* for at se kataloget.",
    },
    "empty_catalog": {
        "pt-BR": "Ainda não há produtos disponíveis.",
        "en-US": "There are no products available yet.",
        "es-ES": "Todavía no hay productos disponibles.",
        "da-DK": "Der er ingen produkter tilgængelige endnu.",
    },
    "product": {
        "pt-BR": "*{name}* ({code})\n{price}{description}",
        "en-US": "*{name}* ({code})\n{price}{description}",
        "es-ES": "*{name}* ({code})\n{price}{description}",
        "da-DK": "*{name}* ({code})\n{price}{description}",
    },
    "add": {"pt-BR": "Adicionar", "en-US": "Add", "es-ES": "Añadir", "da-DK": "Tilføj"},
    "checkout": {"pt-BR": "Finalizar", "en-US": "Checkout", "es-ES": "Finalizar", "da-DK": "Til kassen"},
    "human": {"pt-BR": "Atendente", "en-US": "Talk to a person", "es-ES": "Agente", "da-DK": "Tal med en person"},
    "added": {
        "pt-BR": "Adicionado: {quantity} x {name}.",
        "en-US": "Added: {quantity} x {name}.",
        "es-ES": "Añadido: {quantity} x {name}.",
        "da-DK": "Tilføjet: {quantity} x {name}.",
    },
    "removed": {
        "pt-BR": "Removido: {name}.",
        "en-US": "Removed: {name}.",
        "es-ES": "Eliminado: {name}.",
        "da-DK": "Fjernet: {name}.",
    },
    "cart": {"pt-BR": "Seu carrinho:", "en-US": "Your cart:", "es-ES": "Tu carrito:", "da-DK": "Din kurv:"},
    "cart_total": {
        "pt-BR": "Total: {total}",
        "en-US": "Total: {total}",
        "es-ES": "Total: {total}",
        "da-DK": "I alt: {total}",
    },
    "cart_empty": {
        "pt-BR": "Seu carrinho está vazio. Escreva *menu* para ver os produtos.",
        "en-US": "Your cart is empty. Write *menu* to see the products.",
        "es-ES": "Tu carrito está vacío. Escribe *menu* para ver los productos.",
        "da-DK": "Din kurv er tom. Skriv *menu* for at se produkterne.",
    },
    "link": {
        "pt-BR": "Pedido #{number} criado, total {total}. Pague por este link (válido até {expires}): {url}",
        "en-US": "Order #{number} placed, total {total}. Pay with this link (valid until {expires}): {url}",
        "es-ES": "Pedido #{number} creado, total {total}. Paga con este enlace (válido hasta {expires}): {url}",
        "da-DK": "Ordre #{number} oprettet, i alt {total}. Betal via dette link (gyldigt indtil {expires}): {url}",
    },
    "status": {
        "pt-BR": "Pedido #{number}: {status}, pagamento {payment}, total {total}.",
        "en-US": "Order #{number}: {status}, payment {payment}, total {total}.",
        "es-ES": "Pedido #{number}: {status}, pago {payment}, total {total}.",
        "da-DK": "Ordre #{number}: {status}, betaling {payment}, i alt {total}.",
    },
    "payment_unpaid": {"pt-BR": "pendente", "en-US": "pending", "es-ES": "pendiente", "da-DK": "afventer"},
    "payment_paid": {"pt-BR": "pago", "en-US": "paid", "es-ES": "pagado", "da-DK": "betalt"},
    "payment_partially_refunded": {
        "pt-BR": "reembolsado em parte",
        "en-US": "partly refunded",
        "es-ES": "reembolsado en parte",
        "da-DK": "delvist refunderet",
    },
    "payment_refunded": {"pt-BR": "reembolsado", "en-US": "refunded", "es-ES": "reembolsado", "da-DK": "refunderet"},
    "no_order": {
        "pt-BR": "Você ainda não tem pedidos aqui.",
        "en-US": "You have no orders here yet.",
        "es-ES": "Todavía no tienes pedidos aquí.",
        "da-DK": "Du har ingen ordrer her endnu.",
    },
    "handover": {
        "pt-BR": "Vou chamar uma pessoa da equipe para continuar o atendimento. Seu carrinho fica guardado.",
        "en-US": "I am calling a person from the team to take over. Your cart is kept.",
        "es-ES": "Llamo a una persona del equipo para continuar. Tu carrito queda guardado.",
        "da-DK": "Jeg henter en person fra teamet, som tager over. Din kurv bliver gemt.",
    },
    "handover_closed": {
        "pt-BR": "Nossa equipe atende {hours}. Uma pessoa responde assim que voltar; seu carrinho fica guardado.",
        "en-US": "Our team answers {hours}. A person replies as soon as they are back; your cart is kept.",
        "es-ES": "Nuestro equipo atiende {hours}. Una persona responde en cuanto vuelva; tu carrito queda guardado.",
        "da-DK": "Vores team svarer {hours}. En person svarer, så snart de er tilbage; din kurv bliver gemt.",
    },
    "not_understood": {
        "pt-BR": "Não entendi. Escreva *menu*, *carrinho*, *finalizar* ou *atendente*.",
        "en-US": "I did not understand. Write *menu*, *cart*, *checkout* or *human*.",
        "es-ES": "No entendí. Escribe *menu*, *carrito*, *finalizar* o *agente*.",
        "da-DK": "Det forstod jeg ikke. Skriv *menu*, *kurv*, *kassen* eller *person*.",
    },
    "unavailable": {
        "pt-BR": "{name} não está disponível nessa quantidade agora.",
        "en-US": "{name} is not available in that quantity right now.",
        "es-ES": "{name} no está disponible en esa cantidad ahora.",
        "da-DK": "{name} er ikke tilgængelig i det antal lige nu.",
    },
    "unknown_product": {
        "pt-BR": "Não encontrei esse produto.",
        "en-US": "I could not find that product.",
        "es-ES": "No encontré ese producto.",
        "da-DK": "Jeg kunne ikke finde det produkt.",
    },
    "tool_failed": {
        "pt-BR": "Não consegui fazer isso agora. Tente de novo em instantes ou escreva *atendente*.",
        "en-US": "I could not do that right now. Try again shortly or write *human*.",
        "es-ES": "No pude hacerlo ahora. Inténtalo de nuevo en un momento o escribe *agente*.",
        "da-DK": "Det kunne jeg ikke lige nu. Prøv igen om lidt, eller skriv *person*.",
    },
    "slow_down": {
        "pt-BR": "Recebi muitas mensagens seguidas; vou responder em um minuto.",
        "en-US": "I got many messages in a row; I will answer in a minute.",
        "es-ES": "Recibí muchos mensajes seguidos; respondo en un minuto.",
        "da-DK": "Jeg har fået mange beskeder i træk; jeg svarer om et minut.",
    },
    "remind_checkout": {
        "pt-BR": "Seu pedido #{number} ({total}) ainda aguarda o pagamento. O link vale até {expires}: {url}",
        "en-US": "Your order #{number} ({total}) is still waiting for payment. The link works until {expires}: {url}",
        "es-ES": "Tu pedido #{number} ({total}) sigue esperando el pago. El enlace vale hasta {expires}: {url}",
        "da-DK": "Din ordre #{number} ({total}) venter stadig på betaling. Linket virker indtil {expires}: {url}",
    },
    "remind_cart": {
        "pt-BR": "Você deixou itens no carrinho. Escreva *finalizar* para fechar o pedido.",
        "en-US": "You left items in your cart. Write *checkout* to place the order.",
        "es-ES": "Dejaste artículos en tu carrito. Escribe *finalizar* para hacer el pedido.",
        "da-DK": "Du har varer i din kurv. Skriv *kassen* for at afgive ordren.",
    },
    "media": {
        "pt-BR": "Por enquanto entendo só texto e os botões. Escreva *menu* ou *atendente*.",
        "en-US": "For now I understand only text and the buttons. Write *menu* or *human*.",
        "es-ES": "Por ahora entiendo solo texto y los botones. Escribe *menu* o *agente*.",
        "da-DK": "Indtil videre forstår jeg kun tekst og knapperne. Skriv *menu* eller *person*.",
    },
}

# Words each command is known by, in any of the languages (folded: lower case, no accents; Danish ø and æ stay).
COMMANDS: dict[str, frozenset[str]] = {
    "menu": frozenset(
        {
            "menu",
            "catalogo",
            "catalog",
            "produtos",
            "products",
            "productos",
            "oi",
            "ola",
            "hi",
            "hello",
            "hola",
            "inicio",
            "start",
            "katalog",
            "produkter",
            "hej",
        }
    ),
    "cart": frozenset({"carrinho", "cart", "carrito", "sacola", "kurv", "indkøbskurv"}),
    "checkout": frozenset(
        {"finalizar", "checkout", "pagar", "pay", "comprar", "fechar pedido", "kassen", "til kassen", "betal", "køb"}
    ),
    "status": frozenset(
        {"status", "pedido", "meu pedido", "order", "my order", "mi pedido", "estado", "ordre", "min ordre"}
    ),
}
# Words that hand the chat to a human in every assistant (a number adds its own).
DEFAULT_HANDOVER = frozenset(
    {"atendente", "humano", "pessoa", "human", "agent", "person", "agente", "persona", "medarbejder", "menneske"}
)


def shipped_sentences() -> dict[str, dict[str, str]]:
    """Every sentence the assistant may say, by key, in each language it is written in (the i18n check reads it)."""
    return {key: dict(sentences) for key, sentences in _TEXTS.items()}


def say(language: Language, key: str, **values: object) -> str:
    """The sentence ``key`` in ``language``, with ``values`` filled in."""
    return _TEXTS[key][language].format(**values)


def product_lines(products: list[dict[str, Any]]) -> str:
    """Products as the tools returned them, one line each: name, code, price."""
    return "\n".join(f"• {p['name']} ({p['code']}): {p['priceText']}" for p in products)


def cart_text(language: Language, cart: dict[str, Any], prefix: str | None = None) -> str:
    """A cart as the tools returned it (``view_cart``): its lines and total, or that it is empty."""
    if not cart["lines"]:
        return say(language, "cart_empty")
    lines = "\n".join(f"• {line['quantity']} x {line['name']}: {line['unitPriceText']}" for line in cart["lines"])
    total = say(language, "cart_total", total=cart["totalText"])
    return "\n".join(part for part in (prefix, say(language, "cart"), lines, total) if part)


def local_expiry(valid_until: str, language: str, tenant_id: str) -> str:
    """When a payment link stops working, in the customer's language on the shop's clock (``06/12/2026 14:05``)."""
    from chalicelib.core.formatting import format_moment
    from chalicelib.tenants.service import load_tenant

    zone = load_tenant(tenant_id).time_zone
    return format_moment(valid_until, language, zone, length="short").replace("\u202f", " ")


def expiry_text(valid_until: str) -> str:
    """When a payment link stops working, as the customer reads it (``14:05 UTC``)."""
    return valid_until[11:16] + " UTC"


def link_text(language: Language, placed: dict[str, Any]) -> str:
    """The order a checkout placed (``checkout``'s result): its number, total and payment link with its expiry."""
    expires = placed.get("validUntilText") or expiry_text(str(placed["validUntil"]))
    return say(
        language, "link", number=placed["number"], total=placed["totalText"], url=placed["paymentUrl"], expires=expires
    )


def status_text(language: Language, order: dict[str, Any]) -> str:
    """An order as ``order_status`` returned it."""
    values = {"status": order["statusText"], "payment": order["paymentStatusText"], "total": order["totalText"]}
    return say(language, "status", number=order["number"], **values)
