"""Lambda handlers that are not Chalice routes (function URLs for providers, the stream publisher).

``FUNCTION_URLS`` maps each provider webhook, served at ``/hooks/<provider>`` locally and by a Lambda
function URL in AWS, to its handler (``module:function``).
"""

from __future__ import annotations

FUNCTION_URLS: dict[str, str] = {
    "meta": "functions.meta:handler",
    "bitrix24": "functions.bitrix24:handler",
    "stripe": "functions.stripe:handler",
    "mercadopago": "functions.mercadopago:handler",
    "pagarme": "functions.pagarme:handler",
    "bling": "functions.bling:handler",
    "twilio": "functions.twilio:handler",
    "email": "functions.email:handler",
    "rappi": "functions.rappi:handler",
    "ifood": "functions.ifood:handler",
    "melhorenvio": "functions.melhorenvio:handler",
}
