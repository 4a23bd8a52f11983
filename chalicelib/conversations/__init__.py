"""Conversations: the WhatsApp <-> Bitrix24 gateway's message log per contact, its relay workers and its API."""
