"""Payments: single-use payment links to the providers' checkouts, the ledger of payments and refunds."""
