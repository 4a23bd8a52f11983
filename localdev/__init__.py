"""Local development: the AWS stack on loopback (DynamoDB Local + moto server), the runner and its worker."""
