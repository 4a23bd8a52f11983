"""Delivery platforms (iFood, Rappi): their orders become BTRIX orders, and the tenant's status flow drives theirs."""
