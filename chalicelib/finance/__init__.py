"""Lucrum: the tenant's finance (bank accounts, income and expense, balances, cash flow, payouts)."""
