"""The one client of OpenAI-compatible chat-completions providers (the shop assistant's LLM)."""
