"""Live updates: websocket connections per tenant and user, and the pushes domain events turn into."""
