"""MelhorEnvio (shipping quotes, labels and tracking)."""
