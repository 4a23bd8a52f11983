"""ERP sync (Bling): products, stock, paid orders and their NF-e between BTRIX and the tenant's ERP."""
