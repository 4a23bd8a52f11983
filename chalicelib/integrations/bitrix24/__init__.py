"""Bitrix24 adapter (REST over OAuth; the Open Lines connector lives with the WhatsApp gateway)."""
