"""BTRIX infrastructure as code: the CDK stack of one stage, its constructs, and its checks."""
