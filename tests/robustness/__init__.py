"""Tests that attack the running server: a schema fuzz and a mixed concurrent load."""
