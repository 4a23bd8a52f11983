"""The stack's building blocks, one construct per concern (data, messaging, security, API, functions, operations)."""
