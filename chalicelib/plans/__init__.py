"""Plans: price, limits and modules of each subscription."""
