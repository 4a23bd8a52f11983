"""Analytics: the sales dashboard, from per-tenant aggregates kept by a consumer of the sale and lead events."""
