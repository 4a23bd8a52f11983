"""Orders: items with price snapshots, totals, stock, and a status flow run by the workflow engine."""
