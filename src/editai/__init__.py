"""EditAI backend: a multi-tenant GraphQL API for video editing."""

__version__ = "0.1.0"
