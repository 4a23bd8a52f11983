"""WhatsApp Cloud API calls (Graph API) with a tenant's token."""

from __future__ import annotations

from chalicelib.core.config import get_settings
from chalicelib.integrations.http import json_object, send
from chalicelib.integrations.models import MetaCredentials

__all__ = ["whoami"]


def whoami(credentials: MetaCredentials) -> str:
    """The number the token may send from (``GET /<phone number id>``)."""
    settings = get_settings()
    url = f"{settings.meta_graph_url.rstrip('/')}/{settings.meta_graph_version}/{credentials.phone_number_id}"
    headers = {"Authorization": f"Bearer {credentials.access_token.get_secret_value()}"}
    params = {"fields": "display_phone_number,verified_name"}
    number = json_object("Meta", send("Meta", lambda http: http.get(url, headers=headers, params=params)))
    return (
        f"{number.get('verified_name') or 'WhatsApp number'} ({number.get('display_phone_number') or number.get('id')})"
    )
