"""Channels of the WhatsApp <-> Bitrix24 gateway: WhatsApp numbers, Bitrix24 portals, and the portals' tokens."""
