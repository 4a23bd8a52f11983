"""API documentation: the OpenAPI 3.1 document and Swagger UI, both generated from the declared routes."""
