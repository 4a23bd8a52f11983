"""Leads (Tekup sales tracking): people who may buy, their follow-ups, and their conversion into sales."""
