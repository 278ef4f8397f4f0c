"""Persisted queries: Apollo's automatic persisted queries and the production allow-list."""
