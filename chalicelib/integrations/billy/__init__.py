"""Billy.dk adapter (invoices; polled, Billy has no payment webhook)."""
