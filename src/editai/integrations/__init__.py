"""Shared plumbing for external services: the HTTP client, provider errors, credentials."""
