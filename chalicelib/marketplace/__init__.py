"""StockTech: the B2B marketplace (listings of sellers' catalogs, search, orders across two tenants)."""
