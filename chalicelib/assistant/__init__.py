"""The shop assistant (ShopMe): WhatsApp customers buy from the catalog in the chat, with or without an LLM."""
