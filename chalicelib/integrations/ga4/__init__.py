"""Google Analytics 4 (Measurement Protocol)."""
