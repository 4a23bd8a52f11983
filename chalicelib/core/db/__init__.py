"""The single DynamoDB table: its definition, its keys and the helpers every store uses."""
